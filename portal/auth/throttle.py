"""Per-account password throttle: progressive delays after LOGIN_FREE_FAILURES attempts that failed.

Keyed by a keyed hash of the email as typed (canonical form), whether or not an account has it, so a
delay says nothing about which accounts exist. Stored in the database, so every process shares it.

An attempt is counted *before* the password is checked, by one conditional UPDATE that also sets the
next allowed time; a correct password then resets the count. So a burst of parallel guesses cannot
all slip through the check before any of them is recorded.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import delete

from portal.clock import as_utc
from portal.crypto import keyed_hash
from portal.extensions import db, rowcount
from portal.limits import admit_update, insert_missing
from portal.models import LoginThrottle


def throttle_key(email: str) -> str:
    return keyed_hash("login-throttle", email)


def admit(email: str, now: datetime) -> datetime | None:
    """Count an attempt for email; return None if it may go ahead, or when the next one may."""
    cfg = current_app.config
    key = throttle_key(email)
    insert_missing(LoginThrottle, LoginThrottle.key, [{"key": key, "failures": 0, "retry_at": None,
                                                       "updated_at": now}])
    stmt = admit_update(LoginThrottle, LoginThrottle.key == key, LoginThrottle.failures, LoginThrottle.retry_at,
                        now, free=cfg["LOGIN_FREE_FAILURES"], longest=cfg["LOGIN_MAX_DELAY"], updated_at=now)
    if db.session.execute(stmt).first() is not None:
        return None
    row = db.session.get(LoginThrottle, key, populate_existing=True)
    assert row is not None and row.retry_at is not None
    return as_utc(row.retry_at)


def reset(email: str) -> None:
    """A correct password: forget the count."""
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.key == throttle_key(email)))


def prune(before: datetime) -> int:
    """Forget throttles untouched since before."""
    result = db.session.execute(delete(LoginThrottle).where(LoginThrottle.updated_at < before))
    return rowcount(result) or 0
