"""Authenticator enrollment: pending setup, confirmation, replacement, removal (each with its audit row)."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select

from portal import audit
from portal.clock import as_utc
from portal.crypto import secret_box
from portal.extensions import db
from portal.models import TotpFactor, User
from portal.twofactor import methods
from portal.twofactor.methods import recovery
from portal.twofactor.methods.base import OK, Reason, Verdict
from portal.twofactor.methods.totp import check_code, confirmed_factor, new_secret


def pending_factor(user: User, at: datetime) -> TotpFactor | None:
    """The unconfirmed setup, if it has not expired (an expired one is deleted)."""
    factor = db.session.scalar(
        select(TotpFactor).where(TotpFactor.user_id == user.id, TotpFactor.confirmed_at.is_(None))
    )
    if factor is None:
        return None
    if at - as_utc(factor.created_at) >= timedelta(seconds=current_app.config["TOTP_ENROLL_TTL"]):
        db.session.delete(factor)
        db.session.flush()
        return None
    return factor


def start(user: User, at: datetime) -> TotpFactor:
    """A new pending setup with a fresh secret, replacing any earlier pending one. The active one stays."""
    db.session.execute(
        delete(TotpFactor).where(TotpFactor.user_id == user.id, TotpFactor.confirmed_at.is_(None))
    )
    factor = TotpFactor(user_id=user.id, secret_encrypted=secret_box().seal(new_secret()), created_at=at)
    db.session.add(factor)
    db.session.flush()
    return factor


def pending_secret(factor: TotpFactor) -> str:
    return secret_box().open(factor.secret_encrypted)


def confirm(user: User, code: str, at: datetime, *, ip: str) -> Verdict:
    """Activate the pending setup if code matches it; the old authenticator (if any) goes only now."""
    factor = pending_factor(user, at)
    if factor is None:
        return Verdict(ok=False, reason=Reason.EXPIRED)
    step, verdict = check_code(pending_secret(factor), code, at, current_app.config["TOTP_DRIFT_STEPS"])
    if step is None:
        return verdict
    old = confirmed_factor(user)
    if old is not None:
        db.session.delete(old)
        db.session.flush()  # the partial unique index allows one confirmed factor at a time
    factor.confirmed_at = at
    factor.last_step = step  # the confirming code cannot be replayed to sign in
    audit.record("totp.replaced" if old is not None else "totp.enrolled", actor=user, subject=user, ip=ip)
    return OK


def remove(user: User, *, ip: str) -> None:
    """Delete the authenticator and any pending setup; with no second factor left, the recovery codes too."""
    db.session.execute(delete(TotpFactor).where(TotpFactor.user_id == user.id))
    audit.record("totp.removed", actor=user, subject=user, ip=ip)
    if not methods.primary(user):
        recovery.delete_set(user)
        audit.record("recovery.deleted", actor=user, subject=user, ip=ip)


def cancel_pending(user: User) -> None:
    db.session.execute(
        delete(TotpFactor).where(TotpFactor.user_id == user.id, TotpFactor.confirmed_at.is_(None))
    )
