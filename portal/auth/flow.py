"""The sign-in state machine. Every session key the portal uses is named here.

States of a browser:
  anonymous                 no SESSION_TOKEN in the cookie, or one whose row is gone
  pending (password only)   a UserSession row with stage "pending"; seen only by second-step routes
  active (signed in)        a UserSession row with stage "active"; Flask-Login's current_user is set

The cookie is signed by Flask but holds no authority of its own: each request looks its token up in
user_sessions, so deleting a row signs that browser out however many copies of the cookie exist.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from flask import Flask, current_app, flash, g, request, session
from flask_login import login_user, logout_user
from sqlalchemy import delete, inspect, select, update
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from portal.auth import ended
from portal.clock import as_utc, now
from portal.crypto import token_hash
from portal.extensions import db, login_manager, rowcount
from portal.models import User, UserSession
from portal.security import client_ip

SESSION_TOKEN = "sid"  # noqa: S105  (a key name) random token; its SHA-256 is UserSession.token_hash
SIGNIN_EMAIL = "signin_email"  # the address of a sign-in that ended for too many wrong codes, for the next form
PENDING, ACTIVE = "pending", "active"
LAST_SEEN_GRANULARITY = timedelta(seconds=60)

F = TypeVar("F", bound=Callable[..., Any])


def second_step(view: F) -> F:
    """Mark a view as part of the second step: only such views can see a pending sign-in."""
    view.portal_second_step = True  # type: ignore[attr-defined]  # a mark on the function, read by pending_endpoints
    return view


def pending_endpoints(app: Flask) -> frozenset[str]:
    """Endpoints, read from the URL map, that may see a pending sign-in (the guard's allow-list)."""
    allowed = {"static"}
    for rule in app.url_map.iter_rules():
        if getattr(app.view_functions.get(rule.endpoint), "portal_second_step", False):
            allowed.add(rule.endpoint)
    return frozenset(allowed)


def _row_for_token(token: object) -> UserSession | None:
    if not isinstance(token, str) or not token:
        return None
    # The user comes in the same query: every request with a session needs both.
    return db.session.scalar(select(UserSession).options(joinedload(UserSession.user))
                             .where(UserSession.token_hash == token_hash(token)))


def _expired(row: UserSession, at: datetime) -> bool:
    cfg = current_app.config
    if at >= as_utc(row.expires_at):
        return True
    idle = timedelta(seconds=cfg["SESSION_IDLE_TIMEOUT"])
    return row.stage == ACTIVE and not row.remember and at - as_utc(row.last_seen_at) >= idle


def load_session() -> None:
    """before_request: bind this request to its UserSession row, or make it anonymous."""
    g.portal_session = None
    token = session.get(SESSION_TOKEN)
    if token is None:
        return
    row = _row_for_token(token)
    at = now()
    if row is None or _expired(row, at):
        why = ended.why(token_hash(token)) if row is None and isinstance(token, str) and token else None
        if row is not None:
            db.session.delete(row)
        db.session.commit()
        _forget_browser()
        if why is not None:  # after the cookie is cleared: the sign-in page shows it
            flash(why, "warning")
        return
    if row.stage == PENDING and request.endpoint not in current_app.extensions["portal.pending_endpoints"]:
        g.portal_pending = True  # Security: anonymous outside the second step (the URL-map guard); pages know only that
        return
    g.portal_session = row
    if at - as_utc(row.last_seen_at) >= LAST_SEEN_GRANULARITY:
        row.last_seen_at = at
        row.ip = client_ip()[:64]
        db.session.commit()


def current_row() -> UserSession | None:
    row: UserSession | None = g.get("portal_session")
    return row


def pending_user() -> User | None:
    """The user of a pending sign-in, or None. Only second-step views ever get one."""
    row = current_row()
    return row.user if row is not None and row.stage == PENDING else None


def printable(text: str) -> str:
    """Drop control characters (NUL cannot be stored in PostgreSQL text) from header values we keep."""
    return "".join(ch for ch in text if ch.isprintable())


def _forget_browser() -> None:
    session.clear()
    session.permanent = False


def _new_row(user: User, stage: str, *, remember: bool, at: datetime) -> UserSession:
    """Replace this browser's row (if any) with a new one under a new token: the session id rotates."""
    old = current_row() or _row_for_token(session.get(SESSION_TOKEN))
    if old is not None:
        db.session.delete(old)
    _forget_browser()  # also drops the CSRF token, so a token seen before sign-in is useless after
    token = secrets.token_urlsafe(32)
    row = UserSession(
        token_hash=token_hash(token), user=user, stage=stage, created_at=at, last_seen_at=at,
        expires_at=at, password_confirmed_at=at, remember=remember, failed_codes=0,
        ip=client_ip()[:64], user_agent=printable(request.user_agent.string or "")[:512],
    )
    _set_expiry(row, at)
    db.session.add(row)
    session[SESSION_TOKEN] = token
    g.portal_session = row
    return row


def _set_expiry(row: UserSession, at: datetime) -> None:
    cfg = current_app.config
    if row.stage == PENDING:
        row.expires_at = at + timedelta(seconds=cfg["PENDING_SIGNIN_TTL"])
    elif row.remember:
        row.expires_at = at + timedelta(days=cfg["REMEMBER_ME_DAYS"])
    else:
        row.expires_at = at + timedelta(seconds=cfg["SESSION_MAX_AGE"])


def begin(user: User, *, needs_second_factor: bool, remember: bool) -> UserSession:
    """After a correct password: a pending sign-in, or a full one for a user without a second factor."""
    at = now()
    if needs_second_factor:
        return _new_row(user, PENDING, remember=remember, at=at)
    row = _new_row(user, ACTIVE, remember=remember, at=at)
    _activate(row)
    return row


def complete(row: UserSession, *, proved_factor: bool = True) -> UserSession | None:
    """After a correct second factor: rotate the session id again and sign the user in.
    proved_factor=False (a recovery code): not a fresh second factor, the admin step-up asks for one.

    None if the pending sign-in is already gone (signed out from another device while its code was checked):
    then it must not become a session; the caller rolls back."""
    at = now()
    gone = rowcount(db.session.execute(
        delete(UserSession).where(UserSession.id == row.id).execution_options(synchronize_session=False)
    )) != 1
    db.session.expunge(row)  # deleted above: _new_row finds no old row to delete again
    g.portal_session = None
    _forget_browser()
    if gone:
        return None
    new = _new_row(row.user, ACTIVE, remember=row.remember, at=at)
    new.password_confirmed_at = row.password_confirmed_at
    new.factor_confirmed_at = at if proved_factor else None
    _activate(new)
    return new


def _activate(row: UserSession) -> None:
    # Security: a remembered (persistent) cookie is issued only here, after every factor.
    row.user.last_sign_in_at = row.created_at
    session.permanent = row.remember
    login_user(row.user, remember=False)


def record_failed_code(row: UserSession) -> bool | None:
    """Count a wrong code against the pending sign-in; True if it is now dropped, None if it was already gone.

    The increment is one UPDATE so parallel guesses each count. The row can vanish while the code is checked
    (the account signed out its other sessions, or made new recovery codes): that sign-in is over.
    """
    counted = db.session.execute(
        update(UserSession).where(UserSession.id == row.id)
        .values(failed_codes=UserSession.failed_codes + 1).returning(UserSession.failed_codes)
        .execution_options(synchronize_session=False)
    ).scalar()
    if counted is None:
        _forget_browser()
        return None
    set_committed_value(row, "failed_codes", counted)
    if counted >= current_app.config["PENDING_MAX_FAILURES"]:
        db.session.delete(row)
        _forget_browser()
        return True
    return False


def remember_email(email: str) -> None:
    """A sign-in ended (too many wrong codes): the sign-in form that follows has the address filled in again.

    Kept in the signed cookie until that form is shown; the browser's user typed it a moment ago."""
    session[SIGNIN_EMAIL] = email


def remembered_email() -> str | None:
    """The address remember_email kept, once (it is forgotten as it is read)."""
    email = session.pop(SIGNIN_EMAIL, None)
    return email if isinstance(email, str) else None


def confirm_password(row: UserSession, *, with_factor: bool = False) -> bool:
    """The password (with_factor: and a factor) was proved again; False if the row went while Argon2 ran."""
    at = now()
    values = {"password_confirmed_at": at, **({"factor_confirmed_at": at} if with_factor else {})}
    identity = inspect(row).identity  # known without a read: reading a row deleted meanwhile would raise
    stmt = update(UserSession).where(UserSession.id == (identity or (None,))[0]).values(**values)
    done = rowcount(db.session.execute(stmt.execution_options(synchronize_session=False))) == 1
    for name, value in (values.items() if done else ()):
        set_committed_value(row, name, value)
    return done


def is_fresh_with_factor(row: UserSession | None) -> bool:
    """True if both the password and a second factor were proved within FRESH_AUTH_SECONDS."""
    if row is None or row.factor_confirmed_at is None or not is_fresh(row):
        return False
    age = now() - as_utc(row.factor_confirmed_at)
    return age <= timedelta(seconds=current_app.config["FRESH_AUTH_SECONDS"])


def is_fresh(row: UserSession | None) -> bool:
    """True if the password was confirmed within FRESH_AUTH_SECONDS."""
    if row is None:
        return False
    age = now() - as_utc(row.password_confirmed_at)
    return age <= timedelta(seconds=current_app.config["FRESH_AUTH_SECONDS"])


def end() -> None:
    """Sign this browser out: delete its row so every copy of the cookie stops working."""
    old = _row_for_token(session.get(SESSION_TOKEN))
    if old is not None:
        db.session.delete(old)
    logout_user()
    _forget_browser()
    g.portal_session = None


def revoke_sessions(user: User, *, keep: UserSession | None = None, only_id: int | None = None,
                    reason: str | None = None) -> int:
    """Delete the user's sessions (all but keep, or just only_id); return how many.

    With a reason (an admin ends them: ended.BY_ADMIN), each browser is told why when it comes back.
    """
    stmt = delete(UserSession).where(UserSession.user_id == user.id)
    if keep is not None:
        stmt = stmt.where(UserSession.id != keep.id)
    if only_id is not None:
        stmt = stmt.where(UserSession.id == only_id)
    if reason is None:
        return rowcount(db.session.execute(stmt)) or 0
    gone = db.session.execute(stmt.returning(UserSession.token_hash, UserSession.expires_at)
                              .execution_options(synchronize_session=False)).all()
    ended.record(reason, [(token, expires) for token, expires in gone])
    return len(gone)


def active_sessions(user: User) -> list[UserSession]:
    return list(db.session.scalars(
        select(UserSession).where(UserSession.user_id == user.id, UserSession.stage == ACTIVE)
        .order_by(UserSession.last_seen_at.desc())
    ))


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    row = current_row()
    if row is None or row.stage != ACTIVE or str(row.user_id) != user_id:
        return None
    return row.user


def init_app(app: Flask) -> None:
    app.before_request(load_session)


def freeze_guard(app: Flask) -> None:
    """Build the guard's allow-list once every blueprint is registered."""
    app.extensions["portal.pending_endpoints"] = pending_endpoints(app)
