"""Authenticator apps: the method (no replay, one conditional UPDATE per accepted step) and its enrollment.

Security: a confirmed authenticator is only ever swapped through replace (pages check a current code or a
recovery code first). open_setup never makes a new secret while one is confirmed, so a stolen session with
the password cannot put its own authenticator in place.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from portal import security_events
from portal.clock import as_utc
from portal.crypto import secret_box
from portal.events import Event
from portal.extensions import db, rowcount
from portal.factors import recovery
from portal.factors.base import OK, Method, Reason, Verdict
from portal.factors.totp_codes import check_code, future_skew_step, new_secret
from portal.memo import remembered, unaffected
from portal.models import TotpFactor, User, UserSession
from portal.site import totp_issuer

LEGACY_ISSUER = "2FA Portal"  # every app's issuer before TotpFactor.issuer (migration 0011)


def factors_of(user: User) -> list[TotpFactor]:
    """The user's authenticator rows, read once: at most one confirmed and one pending setup (unique indexes)."""
    return remembered(TotpFactor.__tablename__, ("rows", user.id), lambda: list(db.session.scalars(
        select(TotpFactor).where(TotpFactor.user_id == user.id).order_by(TotpFactor.id)
    )))


def confirmed_factor(user: User) -> TotpFactor | None:
    return next((f for f in factors_of(user) if f.confirmed_at is not None), None)


def issuer_of(factor: TotpFactor) -> str:
    """The name the app shows for this entry: the issuer its QR code gave (before it was kept: TOTP_ISSUER, or
    the name every app was given then)."""
    return factor.issuer or current_app.config["TOTP_ISSUER"] or LEGACY_ISSUER


def accept_step(factor: TotpFactor, step: int, at: datetime) -> bool:
    """Record step as used if it is later than the last one; False if another request got there first.

    Security: one conditional UPDATE, so two racing requests with the same code cannot both win,
    on SQLite and PostgreSQL alike; a code at or before the last accepted step is a replay, and so is
    a code at the burned step (see burn_future_step).
    """
    result = db.session.execute(unaffected(  # which factor is confirmed stays as it was
        update(TotpFactor)
        .where(TotpFactor.id == factor.id, or_(TotpFactor.last_step.is_(None), TotpFactor.last_step < step),
               or_(TotpFactor.burned_step.is_(None), TotpFactor.burned_step != step))
        .values(last_step=step, last_used_at=at)
        .execution_options(synchronize_session=False)
    ))
    if rowcount(result) != 1:
        return False
    set_committed_value(factor, "last_step", step)  # what the database now holds, without reading it back
    set_committed_value(factor, "last_used_at", at)
    return True


def burn_future_step(factor: TotpFactor, verdict: Verdict, at: datetime) -> None:
    """Remember the future step a refused code was reported for, so that code is refused when its time comes.

    Security: "about 90 seconds ahead" tells whoever sent the code that it will be valid in 90 seconds;
    without this a guess that hits a future step (up to the drift limit) becomes a working code later.
    A past step needs nothing: the window never reaches back to it. The caller commits (also on failure).
    """
    step = future_skew_step(verdict, at)
    if step is not None:
        db.session.execute(update(TotpFactor).where(TotpFactor.id == factor.id).values(burned_step=step))


class TotpMethod(Method):
    kind = "totp"

    def __init__(self, drift_limit: int = 10) -> None:
        self.drift_limit = drift_limit

    @property
    def label(self) -> str:
        return _("Authenticator app")

    def is_enrolled(self, user: User) -> bool:
        return confirmed_factor(user) is not None

    def page_context(self, user: User, *, now: datetime) -> dict[str, object]:
        """The name the user's app shows for this site (the code page names the entry to look for)."""
        factor = confirmed_factor(user)
        return {"issuer": issuer_of(factor)} if factor is not None else {}

    def verify(self, user: User, code: str, *, now: datetime) -> Verdict:
        factor = confirmed_factor(user)
        if factor is None:
            return Verdict(ok=False, reason=Reason.INVALID)
        step, verdict = check_code(secret_box().open(factor.secret_encrypted), code, now, self.drift_limit)
        if step is None:
            burn_future_step(factor, verdict, now)
            return verdict
        if step == factor.burned_step or (factor.last_step is not None and step <= factor.last_step):
            return Verdict(ok=False, reason=Reason.REPLAYED)
        return OK if accept_step(factor, step, now) else Verdict(ok=False, reason=Reason.REPLAYED)


def _pending_row(user: User) -> TotpFactor | None:
    """The unconfirmed setup, expired or not."""
    return next((f for f in factors_of(user) if f.confirmed_at is None), None)


def _expired(factor: TotpFactor, at: datetime) -> bool:
    return at - as_utc(factor.created_at) >= timedelta(seconds=current_app.config["TOTP_ENROLL_TTL"])


def live_pending(user: User, at: datetime) -> tuple[TotpFactor | None, bool]:
    """(the unconfirmed setup if it has not expired, whether an expired one was deleted just now)."""
    factor = _pending_row(user)
    if factor is None:
        return None, False
    if _expired(factor, at):
        # A Core DELETE by id: a parallel request may delete the same row first, and that is fine.
        db.session.execute(delete(TotpFactor).where(TotpFactor.id == factor.id))
        return None, True
    return factor, False


def pending_factor(user: User, at: datetime) -> TotpFactor | None:
    """The unconfirmed setup, if it has not expired (an expired one is deleted)."""
    return live_pending(user, at)[0]


def _insert_pending(user: User, at: datetime) -> TotpFactor | None:
    """Add a pending setup with a fresh secret; if a parallel request added one first, return that one.

    Security: the partial unique index uq_totp_factors_pending lets exactly one INSERT win. The loser's
    transaction is rolled back (the caller must have committed its own work before), and it reads the
    winner's row, so every tab shows the same secret and none answers 500. None if that row is gone again.
    """
    factor = TotpFactor(user_id=user.id, secret_encrypted=secret_box().seal(new_secret()), created_at=at,
                        issuer=totp_issuer())
    db.session.add(factor)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return _pending_row(user)
    return factor


def open_setup(user: User, at: datetime) -> tuple[TotpFactor | None, bool]:
    """The pending setup to show, made now for a first authenticator; (None, …) while one is confirmed
    and no replacement was started. The flag says an expired setup was deleted (the phone's entry is stale).

    Commit before calling: a parallel request may win the INSERT, and then this transaction is rolled back.
    """
    factor, expired = live_pending(user, at)
    if factor is not None or confirmed_factor(user) is not None:
        return factor, expired
    return _insert_pending(user, at), expired


def start(user: User, at: datetime) -> TotpFactor:
    """A new pending setup with a fresh secret, replacing any earlier pending one. The active one stays.

    Routes call this only to renew an existing setup or after a current code (replace). Commit before
    calling (see _insert_pending).
    """
    db.session.execute(
        delete(TotpFactor).where(TotpFactor.user_id == user.id, TotpFactor.confirmed_at.is_(None))
    )
    factor = _insert_pending(user, at)
    if factor is None:  # a parallel request made one and a third removed it: try once more
        factor = _insert_pending(user, at)
    if factor is None:
        raise RuntimeError("could not start an authenticator setup")
    return factor


def pending_secret(factor: TotpFactor) -> str:
    return secret_box().open(factor.secret_encrypted)


def confirm(user: User, code: str, at: datetime, *, ip: str, keep: UserSession | None = None) -> Verdict:
    """Activate the pending setup if code matches it; the old authenticator (if any) goes only now.

    EXPIRED means there is no live pending setup, or another request confirmed it first (a double submit):
    then nothing was written and the caller rolls back. keep is the session making the change: every other
    session of the user is signed out (None signs out all of them).
    """
    factor = pending_factor(user, at)
    if factor is None:
        return Verdict(ok=False, reason=Reason.EXPIRED)
    step, verdict = check_code(pending_secret(factor), code, at, current_app.config["TOTP_DRIFT_STEPS"])
    if step is None:
        burn_future_step(factor, verdict, at)
        return verdict
    if step == factor.burned_step:
        return Verdict(ok=False, reason=Reason.REPLAYED)
    old = confirmed_factor(user)
    if old is not None:
        # The partial unique index allows one confirmed factor at a time: the old one goes first.
        db.session.execute(delete(TotpFactor).where(TotpFactor.id == old.id))
    # Security: a conditional UPDATE, so of two racing confirmations exactly one changes the row (and
    # writes the audit row); last_step = step, so the confirming code cannot be replayed to sign in.
    result = db.session.execute(
        update(TotpFactor).where(TotpFactor.id == factor.id, TotpFactor.confirmed_at.is_(None))
        .values(confirmed_at=at, last_step=step)
    )
    if rowcount(result) != 1:
        return Verdict(ok=False, reason=Reason.EXPIRED)
    event = Event.TOTP_REPLACED if old is not None else Event.TOTP_ENROLLED
    security_events.changed(event, user=user, ip=ip, keep=keep)
    return OK


def remove(user: User, *, ip: str, keep: UserSession | None = None) -> None:
    """Delete the authenticator and any pending setup; with no second factor left, the recovery codes too.

    Every session of the user but keep is signed out.
    """
    db.session.execute(delete(TotpFactor).where(TotpFactor.user_id == user.id))
    security_events.changed(Event.TOTP_REMOVED, user=user, ip=ip, keep=keep)
    recovery.drop_if_last_factor_gone(user, ip=ip, keep=keep)


def cancel_pending(user: User) -> None:
    db.session.execute(
        delete(TotpFactor).where(TotpFactor.user_id == user.id, TotpFactor.confirmed_at.is_(None))
    )


def prune_expired(at: datetime) -> int:
    """Delete every pending setup older than TOTP_ENROLL_TTL; return how many."""
    cutoff = at - timedelta(seconds=current_app.config["TOTP_ENROLL_TTL"])
    result = db.session.execute(
        delete(TotpFactor).where(TotpFactor.confirmed_at.is_(None), TotpFactor.created_at <= cutoff)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) or 0
