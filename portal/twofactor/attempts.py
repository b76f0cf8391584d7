"""Second-factor attempts per account, across every method and every pending sign-in.

From SECOND_FACTOR_FREE_FAILURES on, each attempt must wait 1, 2, 4 … s (429 + Retry-After); at
SECOND_FACTOR_LOCK_AT counted failures every factor but a recovery code is locked until an admin
resets the count. Attempts are counted when admitted, before the code is checked; success resets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy.orm.attributes import flag_modified, set_committed_value

from portal.clock import as_utc
from portal.extensions import db
from portal.limits import admit_update
from portal.models import User


@dataclass(frozen=True)
class Refusal:
    locked: bool
    retry_at: datetime | None = None


def is_locked(user: User) -> bool:
    return user.factor_failures >= current_app.config["SECOND_FACTOR_LOCK_AT"]


def admit(user: User, now: datetime, *, ignore_lock: bool = False) -> Refusal | None:
    """Count an attempt; None if it may go ahead. ignore_lock is for recovery codes only."""
    cfg = current_app.config
    lock_at = cfg["SECOND_FACTOR_LOCK_AT"]
    stmt = admit_update(
        User, User.id == user.id, User.factor_failures, User.factor_retry_at, now,
        free=cfg["SECOND_FACTOR_FREE_FAILURES"], longest=cfg["SECOND_FACTOR_MAX_DELAY"],
        extra=None if ignore_lock else User.factor_failures < lock_at,
    )
    admitted = db.session.execute(stmt.returning(User.factor_retry_at)).first()
    if admitted is not None:  # the new count and delay come back with the UPDATE: no read again
        set_committed_value(user, "factor_failures", admitted[0])
        set_committed_value(user, "factor_retry_at", admitted[1])
        return None
    db.session.refresh(user)
    if not ignore_lock and is_locked(user):
        return Refusal(locked=True)
    return Refusal(locked=False, retry_at=as_utc(user.factor_retry_at) if user.factor_retry_at else now)


def reset(user: User) -> None:
    """A second factor succeeded: the count starts again (written with the sign-in's other changes to the user)."""
    user.factor_failures = 0
    user.factor_retry_at = None
    flag_modified(user, "factor_failures")  # written even if this request loaded 0: another may have counted
