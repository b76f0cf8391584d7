"""Send a code to a phone within the limits: a resend cooldown per phone, caps per account and per number.

The cooldown is claimed by a conditional UPDATE on the phone's row and committed, with a row counted
for the caps, before the provider is called; so two processes cannot both send, and a slow provider
holds no database lock. If the provider fails, the claim and the count are undone: nothing of a send
that did not happen remains.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, or_, select, update

from portal.clock import as_utc
from portal.crypto import keyed_hash
from portal.extensions import db
from portal.models import SmsFactor, SmsSend
from portal.sms import provider
from portal.sms.base import Message, Purpose, SmsError

WINDOW = timedelta(minutes=10)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Wait:
    """A send refused before any call to the provider: why, and when it may work."""

    reason: str  # "cooldown", or the cap reached: "number" | "account" | "day" ("cap" when not known)
    retry_at: datetime


def phone_key(phone: str) -> str:
    return keyed_hash("sms-phone", phone)


def _cap(where: object, since: datetime, limit: int, span: timedelta, now: datetime) -> datetime | None:
    """When the oldest of `limit` sends in the span leaves it, if the cap is reached; else None."""
    times = db.session.scalars(
        select(SmsSend.sent_at).where(where, SmsSend.sent_at > since).order_by(SmsSend.sent_at.desc()).limit(limit)
    ).all()
    if len(times) < limit:
        return None
    return max(as_utc(times[-1]) + span, now + timedelta(seconds=1))


def check_caps(factor: SmsFactor, now: datetime) -> Wait | None:
    cfg = current_app.config
    per_window, per_day = cfg["SMS_SENDS_PER_10_MINUTES"], cfg["SMS_SENDS_PER_DAY"]
    for reason, where, limit, span in (
        ("number", SmsSend.phone_key == phone_key(factor.phone), per_window, WINDOW),
        ("account", SmsSend.user_id == factor.user_id, per_window, WINDOW),
        ("day", SmsSend.user_id == factor.user_id, per_day, DAY),
    ):
        until = _cap(where, now - span, limit, span, now)
        if until is not None:
            return Wait(reason, until)
    return None


def cooldown_until(factor: SmsFactor, now: datetime) -> datetime | None:
    """When this phone may get its next text, if that is still in the future."""
    if factor.next_send_at is None:
        return None
    until = as_utc(factor.next_send_at)
    return until if until > now else None


def send(factor: SmsFactor, purpose: Purpose, *, language: str, now: datetime) -> Wait | None:
    """Send a new code to factor's phone, or say how long to wait. Commits. Raises SmsError (undone)."""
    wait = check_caps(factor, now)
    if wait is not None:
        return wait
    before = (factor.next_send_at, factor.last_sent_at)
    cooldown = timedelta(seconds=current_app.config["SMS_RESEND_COOLDOWN"])
    # Security: one conditional UPDATE claims the cooldown, so parallel requests send one text.
    claimed = db.session.execute(
        update(SmsFactor)
        .where(SmsFactor.id == factor.id, or_(SmsFactor.next_send_at.is_(None), SmsFactor.next_send_at <= now))
        .values(next_send_at=now + cooldown, last_sent_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        # Nothing was claimed; what the caller has pending (a new number) is theirs to commit or drop.
        db.session.refresh(factor)
        return Wait("cooldown", cooldown_until(factor, now) or now + timedelta(seconds=1))
    sent = SmsSend(user_id=factor.user_id, phone_key=phone_key(factor.phone), purpose=str(purpose), sent_at=now)
    db.session.add(sent)
    db.session.commit()
    message = Message(user_id=factor.user_id, phone=factor.phone, purpose=purpose, language=language)
    try:
        provider().send_code(message, now=now)
    except SmsError:
        db.session.rollback()
        db.session.execute(delete(SmsSend).where(SmsSend.id == sent.id))
        db.session.execute(update(SmsFactor).where(SmsFactor.id == factor.id)
                           .values(next_send_at=before[0], last_sent_at=before[1]))
        db.session.commit()
        raise
    db.session.commit()
    db.session.refresh(factor)
    return None
