"""Per-account password throttle: progressive delays after LOGIN_FREE_FAILURES attempts that failed.

Keyed by a keyed hash of the email as typed (canonical form), whether or not an account has it, so a
delay says nothing about which accounts exist. Stored in the database, so every process shares it.

An attempt is counted *before* the password is checked, by one INSERT … ON CONFLICT DO UPDATE that also sets
the next allowed time; a correct password then resets the count (deletes the row). So a burst of parallel
guesses cannot all slip through the check before any of them is recorded, and a sign-in that deletes the row
between two statements of a parallel attempt cannot happen: there is one statement.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select

from portal.clock import as_utc
from portal.crypto import keyed_hash
from portal.extensions import db, rowcount
from portal.factors.base import Reason, Verdict, refused
from portal.limits import attempt_upsert
from portal.models import LoginThrottle


def throttle_key(email: str) -> str:
    return keyed_hash("login-throttle", email)


def count_attempt(email: str, now: datetime) -> Verdict | None:
    """Count an attempt for email; None if it may go ahead, else a WAIT verdict saying when the next one may."""
    cfg = current_app.config
    key = throttle_key(email)
    stmt = attempt_upsert(LoginThrottle, LoginThrottle.key, key, LoginThrottle.failures, LoginThrottle.retry_at, now,
                        free=cfg["LOGIN_FREE_FAILURES"], longest=cfg["LOGIN_MAX_DELAY"], updated_at=now)
    if db.session.execute(stmt).first() is not None:
        return None
    # Refused: the row is held by the statement above until the caller commits, so it is read as it refused.
    until = db.session.scalar(select(LoginThrottle.retry_at).where(LoginThrottle.key == key))
    if until is not None and as_utc(until) > now:
        return refused(Reason.WAIT, as_utc(until))
    # Security: had the row gone or passed anyway, the attempt waits a second rather than go ahead uncounted.
    return refused(Reason.WAIT, now + timedelta(seconds=1))


def failures(email: str) -> int:
    """How many attempts for email are counted now (0 after a correct password)."""
    return db.session.scalar(select(LoginThrottle.failures).where(LoginThrottle.key == throttle_key(email))) or 0


def reset(email: str) -> None:
    """A correct password: forget the count."""
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.key == throttle_key(email)))


def prune(before: datetime) -> int:
    """Forget throttles untouched since before."""
    result = db.session.execute(delete(LoginThrottle).where(LoginThrottle.updated_at < before))
    return rowcount(result) or 0
