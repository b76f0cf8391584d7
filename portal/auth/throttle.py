"""Per-account password throttle: progressive delays after LOGIN_FREE_FAILURES wrong passwords.

Keyed by a keyed hash of the email as typed (canonical form), whether or not an account has it, so a
delay says nothing about which accounts exist. Stored in the database: every process shares it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from portal.clock import as_utc
from portal.crypto import keyed_hash
from portal.extensions import db
from portal.models import LoginThrottle


def throttle_key(email: str) -> str:
    return keyed_hash("login-throttle", email)


def retry_at(email: str, now: datetime) -> datetime | None:
    """When the next attempt for this email is allowed, if that is in the future."""
    row = db.session.get(LoginThrottle, throttle_key(email))
    if row is None or row.retry_at is None:
        return None
    at = as_utc(row.retry_at)
    return at if at > now else None


def record_failure(email: str, now: datetime) -> None:
    """Count one wrong password atomically and set the next allowed time."""
    key = throttle_key(email)
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(LoginThrottle).values(key=key, failures=1, retry_at=None, updated_at=now)
    stmt = stmt.on_conflict_do_update(
        index_elements=[LoginThrottle.key],
        set_={"failures": LoginThrottle.failures + 1, "updated_at": now},
    )
    db.session.execute(stmt)
    row = db.session.get(LoginThrottle, key, populate_existing=True)
    assert row is not None
    free = current_app.config["LOGIN_FREE_FAILURES"]
    if row.failures >= free:
        delay = min(2 ** min(row.failures - free, 30), current_app.config["LOGIN_MAX_DELAY"])
        db.session.execute(
            update(LoginThrottle).where(LoginThrottle.key == key)
            .values(retry_at=now + timedelta(seconds=delay))
        )


def reset(email: str) -> None:
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.key == throttle_key(email)))


def prune(before: datetime) -> int:
    """Forget throttles untouched since before."""
    result = db.session.execute(delete(LoginThrottle).where(LoginThrottle.updated_at < before))
    return result.rowcount or 0
