"""Codes we generate ourselves (twilio_messaging, console): 6 digits from secrets, stored as a keyed hash.

The hash binds the code to its user, purpose and phone. A new code replaces the previous one; a check
is counted before comparing (a conditional UPDATE), so parallel guesses cannot exceed SMS_MAX_CHECKS;
a match is consumed by a second conditional UPDATE, so it works once. For twilio_verify the same row,
holding no code, binds Twilio's verification to its user, purpose and phone (see twilio_verify.py).
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import ColumnElement, delete, select, update

from portal.crypto import keyed_hash
from portal.extensions import db, rowcount
from portal.factors.base import OK, Reason, Verdict
from portal.models import SmsCode
from portal.sms.base import Message


def new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def _hash(message: Message, code: str) -> str:
    return keyed_hash("sms-code", f"{message.user_id}:{message.purpose}:{message.phone}:{code}")


def store(message: Message, code: str, now: datetime, ttl: timedelta | None = None) -> None:
    """Replace the live code of (user, purpose) with code (valid SMS_CODE_TTL, or ttl). The caller commits."""
    db.session.execute(delete(SmsCode).where(SmsCode.user_id == message.user_id,
                                             SmsCode.purpose == str(message.purpose)))
    ttl = ttl or timedelta(seconds=current_app.config["SMS_CODE_TTL"])
    db.session.add(SmsCode(user_id=message.user_id, purpose=str(message.purpose), code_hash=_hash(message, code),
                           created_at=now, expires_at=now + ttl, checks=0))


def _where(message: Message) -> tuple[ColumnElement[bool], ...]:
    return SmsCode.user_id == message.user_id, SmsCode.purpose == str(message.purpose)


def _live(now: datetime) -> tuple[ColumnElement[bool], ...]:
    return (SmsCode.used_at.is_(None), SmsCode.expires_at > now,
            SmsCode.checks < current_app.config["SMS_MAX_CHECKS"])


def _why_not(message: Message) -> Verdict:
    """Why (user, purpose) has no code that may be checked: used, tried too often, or expired/never sent."""
    row = db.session.execute(select(SmsCode.used_at, SmsCode.checks).where(*_where(message))).first()
    if row is not None and row.used_at is not None:
        return Verdict(ok=False, reason=Reason.REPLAYED)
    if row is not None and row.checks >= current_app.config["SMS_MAX_CHECKS"]:
        return Verdict(ok=False, reason=Reason.THROTTLED)  # this code is dead: send a new one
    return Verdict(ok=False, reason=Reason.EXPIRED)


def counted_live_code(message: Message, now: datetime) -> tuple[int, str] | Verdict:
    """Count a check of the live code of (user, purpose): its row id and stored hash, or why there is none."""
    # Security: the check is counted before the comparison, by a conditional UPDATE.
    admitted = db.session.execute(
        update(SmsCode)
        .where(*_where(message), *_live(now))
        .values(checks=SmsCode.checks + 1)
        .returning(SmsCode.id, SmsCode.code_hash)
        .execution_options(synchronize_session=False)
    ).first()
    return (admitted[0], admitted[1]) if admitted is not None else _why_not(message)


def live_code(message: Message, now: datetime) -> tuple[int, str] | Verdict:
    """Like counted_live_code, without counting (for codes whose checks the provider counts itself: Twilio Verify)."""
    row = db.session.execute(select(SmsCode.id, SmsCode.code_hash).where(*_where(message), *_live(now))).first()
    return (row[0], row[1]) if row is not None else _why_not(message)


def matches(message: Message, code: str, stored: str) -> bool:
    return hmac.compare_digest(stored, _hash(message, code))


def consume(row_id: int, stored: str, now: datetime) -> Verdict:
    """Mark an admitted, matching code used: OK for exactly one of racing checks.

    The row is named by its id and the hash that was checked: a row id can come back (SQLite reuses the
    highest one after a delete), and a code replaced meanwhile must not consume its successor."""
    consumed = rowcount(db.session.execute(
        update(SmsCode).where(SmsCode.id == row_id, SmsCode.code_hash == stored, SmsCode.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ))
    return OK if consumed == 1 else Verdict(ok=False, reason=Reason.REPLAYED)


def check(message: Message, code: str, now: datetime) -> Verdict:
    """Count the check, then compare; a match is consumed. The caller commits."""
    admitted = counted_live_code(message, now)
    if isinstance(admitted, Verdict):
        return admitted
    row_id, stored = admitted
    if not matches(message, code, stored):
        return Verdict(ok=False, reason=Reason.INVALID)
    return consume(row_id, stored, now)
