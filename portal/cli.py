"""flask --app wsgi portal …: operator commands."""

from __future__ import annotations

import getpass
import os
from datetime import timedelta

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import delete, select

from portal.admin.operations import (
    IDENTITY_CHECKS,
    NOTES_MIN,
    Actor,
    IdentityCheck,
    Outcome,
    disable_two_factor,
    identity_problem,
)
from portal.auth import ended, throttle
from portal.auth.passwords import canonical_email, password_problems
from portal.clock import now
from portal.crypto import passwords
from portal.extensions import db, rowcount
from portal.models import User, UserSession

portal_cli = AppGroup("portal", help="Operate the 2FA portal.")


@portal_cli.command("create-admin")
@click.argument("email")
@click.option("--password", help="Password for a new account (prompted for when left out).")
def create_admin(email: str, password: str | None) -> None:
    """Create an admin account, or make an existing account an admin."""
    canonical = canonical_email(email)
    if canonical is None:
        raise click.BadParameter(f"{email!r} is not a valid email address", param_hint="EMAIL")
    user = db.session.scalar(select(User).where(User.email == canonical))
    if user is not None:
        if password is not None:
            raise click.UsageError(f"{canonical} exists already; it is promoted without changing its password, "
                                   "so leave out --password")
        user.is_admin = True
        db.session.commit()
        click.echo(f"{canonical} is now an admin.")
        return
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    problems = password_problems(password, canonical)
    if problems:
        raise click.BadParameter(" ".join(problems), param_hint="--password")
    db.session.add(User(email=canonical, password_hash=passwords().hash(password), is_admin=True,
                        created_at=now()))
    db.session.commit()
    click.echo(f"Created admin {canonical}.")


@portal_cli.command("disable-2fa")
@click.argument("email")
@click.option("--identity-check", required=True, type=click.Choice(sorted(IDENTITY_CHECKS)),
              help="How the person's identity was checked.")
@click.option("--case-reference", required=True, help="The support case this belongs to.")
@click.option("--notes", required=True, help=f"What was checked and why (at least {NOTES_MIN} characters).")
def disable_2fa(email: str, identity_check: str, case_reference: str, notes: str) -> None:
    """Break glass: remove every second factor and recovery code of EMAIL and sign it out (audited)."""
    identity = IdentityCheck(identity_check, case_reference.strip(), notes.strip())
    problem = identity_problem(identity)
    if problem is not None:
        raise click.BadParameter(problem)
    canonical = canonical_email(email)
    target = db.session.scalar(select(User).where(User.email == canonical)) if canonical else None
    if target is None:
        raise click.ClickException(f"No account has the email address {email!r}.")
    outcome = disable_two_factor(target, identity, Actor(user=None, ip=None, os_user=_os_user()))
    if outcome is not Outcome.DONE:
        db.session.rollback()
        raise click.ClickException(f"{target.email} has no second factor or recovery codes: nothing was changed.")
    db.session.commit()
    click.echo(f"Two-step verification of {target.email} is off; its sessions are signed out. "
               f"Recorded in the audit log under case {identity.case_reference}.")


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers) and no LOGNAME/USER
        return f"uid {os.getuid()}"


@portal_cli.command("prune")
@click.option("--throttle-days", default=1, show_default=True, help="Forget password throttles this old.")
def prune(throttle_days: int) -> None:
    """Delete expired sessions (and notes of those an admin ended), expired authenticator setups, old throttles."""
    from portal.factors import totp

    at = now()
    sessions = rowcount(db.session.execute(delete(UserSession).where(UserSession.expires_at < at)))
    ended.prune(at)  # why an admin ended a session: no longer needed once it would have expired anyway
    setups = totp.prune_expired(at)
    throttles = throttle.prune(at - timedelta(days=throttle_days))
    db.session.commit()
    click.echo(f"Deleted {sessions} expired sessions, {setups} expired authenticator setups "
               f"and {throttles} old throttles.")


@portal_cli.command("rotate-keys")
def rotate_keys() -> None:
    """Re-encrypt every TOTP secret under the first key of TOTP_ENCRYPTION_KEYS.

    All or nothing: if any secret cannot be opened with a configured key, nothing is changed, so no
    older key is removed while a secret still needs it.
    """
    from cryptography.fernet import InvalidToken

    from portal.crypto import secret_box
    from portal.models import TotpFactor

    box = secret_box()
    count = 0
    unreadable: list[int] = []
    for factor in db.session.scalars(select(TotpFactor).order_by(TotpFactor.id)):
        try:
            factor.secret_encrypted = box.rotate(factor.secret_encrypted)
        except InvalidToken:
            unreadable.append(factor.id)
            continue
        count += 1
    if unreadable:
        db.session.rollback()
        rows = ", ".join(str(row_id) for row_id in unreadable)
        raise click.ClickException(
            f"No key in TOTP_ENCRYPTION_KEYS opens the authenticator secret of totp_factors row(s) {rows}. "
            "Nothing was re-encrypted. Add the key those secrets were encrypted with (after the new first "
            "key) and run rotate-keys again."
        )
    db.session.commit()
    click.echo(f"Re-encrypted {count} authenticator secrets with the first key; older keys can now be removed.")


def init_app(app: Flask) -> None:
    app.cli.add_command(portal_cli)
