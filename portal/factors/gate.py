"""The one code check every page goes through: canonical form → count → commit → verify → reset → audit.

Second-factor attempts are counted per account, across every method and every pending sign-in. From
SECOND_FACTOR_FREE_FAILURES on, each attempt must wait 1, 2, 4 … s (a WAIT verdict: 429 + Retry-After);
at SECOND_FACTOR_LOCK_AT counted failures every factor but a recovery code is LOCKED until an admin resets
the count. An attempt is counted when admitted, before the code is checked, and that count is committed
at once (the gate owns this early commit): a request that dies in the check still counted. Success resets.

The page owns the final commit: what the gate writes after the early commit (the reset, the audit rows, the
code spent by verify) commits with the page's own change, or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy.orm.attributes import flag_modified, set_committed_value

from portal import audit, mail, memo
from portal.clock import as_utc
from portal.events import Event
from portal.extensions import db
from portal.factors import recovery
from portal.factors.base import Method, Reason, Verdict, refused
from portal.limits import attempt_update
from portal.models import AuditEvent, User
from portal.sms.base import SmsError


@dataclass(frozen=True)
class Checked:
    """What the gate decided, and the audit row of a success that was recorded (a sign-in, a recovery code)."""

    verdict: Verdict
    recorded: AuditEvent | None = None

    @property
    def ok(self) -> bool:
        return self.verdict.ok


def is_locked(user: User) -> bool:
    lock_at: int = current_app.config["SECOND_FACTOR_LOCK_AT"]
    return user.factor_failures >= lock_at


def waiting_until(user: User, now: datetime) -> datetime | None:
    """When the account may try a code again, while it must wait after wrong codes; None when it may now."""
    until = as_utc(user.factor_retry_at) if user.factor_retry_at is not None else None
    return until if until is not None and until > now else None


def count_attempt(user: User, now: datetime, *, lockable: bool = True) -> Verdict | None:
    """Count an attempt for the account; None if it may go ahead, else a LOCKED or WAIT verdict.

    lockable=False is for recovery codes only: they still wait, but the lock does not stop them.
    """
    cfg = current_app.config
    stmt = attempt_update(
        User, User.id == user.id, User.factor_failures, User.factor_retry_at, now,
        free=cfg["SECOND_FACTOR_FREE_FAILURES"], longest=cfg["SECOND_FACTOR_MAX_DELAY"],
        extra=User.factor_failures < cfg["SECOND_FACTOR_LOCK_AT"] if lockable else None,
    )
    admitted = db.session.execute(stmt.returning(User.factor_retry_at)).first()
    if admitted is not None:  # the new count and delay come back with the UPDATE: no read again
        set_committed_value(user, "factor_failures", admitted[0])
        set_committed_value(user, "factor_retry_at", admitted[1])
        return None
    db.session.refresh(user)
    if lockable and is_locked(user):
        return refused(Reason.LOCKED)
    return refused(Reason.WAIT, as_utc(user.factor_retry_at) if user.factor_retry_at else now)


def reset(user: User) -> None:
    """A second factor succeeded: the count starts again (written with the request's other changes to the user)."""
    user.factor_failures = 0
    user.factor_retry_at = None
    flag_modified(user, "factor_failures")  # written even if this request loaded 0: another may have counted


def check(method: Method, user: User, raw: str, *, now: datetime, ip: str | None,
          signing_in: bool = False) -> Checked:
    """Check the code user typed for method. The caller commits afterwards, whatever the verdict.

    signing_in: this is the second step of a sign-in, so the success and every failure get an audit row
    (elsewhere only a recovery code's use and the lock do). A provider fault (SmsError) is raised after
    the rollback of everything but the counted attempt.
    """
    code = method.canonical(raw)
    if code is None:
        return Checked(refused(Reason.MALFORMED))  # not a code of this method: not worth an attempt
    refusal = count_attempt(user, now, lockable=method.lockable)
    # The attempt counts even if this request dies. At sign-in what the request read stays loaded (the
    # user was just refreshed, and the code check decides in the database by a conditional UPDATE, not
    # from what is loaded); the other pages read everything again, as they always did.
    if signing_in:
        memo.commit_keeping()
    else:
        db.session.commit()
    if refusal is not None:
        return Checked(refusal)
    try:
        verdict = method.verify(user, code, now=now)
    except SmsError:
        db.session.rollback()  # the provider could not check the code: nothing but the attempt is kept
        raise
    if verdict.ok:
        reset(user)  # written with the page's other changes to the user: one UPDATE
        return Checked(verdict, _record_success(method, user, ip, signing_in))
    if signing_in:
        audit.record(Event.SIGNIN_SECOND_FACTOR_FAILED, actor=None, subject=user, ip=ip, method=method.kind,
                     reason=str(verdict.reason))
    if user.factor_failures == current_app.config["SECOND_FACTOR_LOCK_AT"]:  # this attempt reached the lock
        audit.record(Event.SIGNIN_LOCKED, actor=None, subject=user, ip=ip, failures=user.factor_failures)
        mail.notify(user.email, Event.SIGNIN_LOCKED, ip=ip)
    return Checked(verdict)


def _record_success(method: Method, user: User, ip: str | None, signing_in: bool) -> AuditEvent | None:
    """A recovery code's use is always recorded and notified; any other code only when it signs in."""
    if method.kind != recovery.RecoveryMethod.kind and not signing_in:
        return None
    details: dict[str, object] = {"method": method.kind}
    if method.kind == recovery.RecoveryMethod.kind or recovery.has_set(user):
        details["recovery_codes_left"] = recovery.remaining(user)
    event = Event.RECOVERY_USED if method.kind == recovery.RecoveryMethod.kind else Event.SIGNIN_SECOND_FACTOR
    row = audit.record(event, actor=user, subject=user, ip=ip, **details)
    mail.notify(user.email, event, ip=ip)  # only recovery.used is a notice
    return row
