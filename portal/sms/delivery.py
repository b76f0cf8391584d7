"""Send a code to a phone within the limits: a resend cooldown per phone, caps per account and per number.

The account's cooldown is claimed by a conditional UPDATE (and the number's row locked while the caps are
counted) and committed, with a row counted for the caps, before the provider is called; so parallel
sends in any number of processes cannot pass the cooldown or a cap, and a slow provider holds no
database lock. If the provider fails, the claim and the count are undone: nothing of a send
that did not happen remains.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import ColumnElement, and_, delete, or_, select, update

from portal import audit
from portal.clock import as_utc
from portal.crypto import keyed_hash
from portal.events import Event
from portal.extensions import db, rowcount
from portal.factors.base import Reason, Verdict, refused
from portal.limits import insert_missing
from portal.models import SmsFactor, SmsSend, SmsThrottle, User
from portal.phone import mask
from portal.sms import provider
from portal.sms.base import Message, Purpose, SmsError

WINDOW = timedelta(minutes=10)
DAY = timedelta(days=1)


def phone_key(phone: str) -> str:
    return keyed_hash("sms-phone", phone)


def _cap(where: ColumnElement[bool], since: datetime, limit: int, span: timedelta, now: datetime) -> datetime | None:
    """When the oldest of `limit` sends in the span leaves it, if the cap is reached; else None."""
    times = db.session.scalars(
        select(SmsSend.sent_at).where(where, SmsSend.sent_at > since).order_by(SmsSend.sent_at.desc()).limit(limit)
    ).all()
    if len(times) < limit:
        return None
    return max(as_utc(times[-1]) + span, now + timedelta(seconds=1))


def check_caps(factor: SmsFactor, now: datetime) -> Verdict | None:
    """A THROTTLED verdict (with its retry_at) when a cap per number, account or day is reached."""
    cfg = current_app.config
    per_window, per_day = cfg["SMS_SENDS_PER_10_MINUTES"], cfg["SMS_SENDS_PER_DAY"]
    # Security: the number's cap keeps anyone from flooding a phone, but strangers must not spend its owner's
    # budget: anyone can type a number into a setup, so a sign-in code to a confirmed phone counts only the
    # sign-in codes sent to it (only accounts that proved they hold the phone send those). A setup text counts
    # every text to the number.
    number = SmsSend.phone_key == phone_key(factor.phone)
    if purpose_of(factor) is Purpose.SIGN_IN:
        number = and_(number, SmsSend.purpose == str(Purpose.SIGN_IN))
    for where, limit, span in (
        (number, per_window, WINDOW),
        (SmsSend.user_id == factor.user_id, per_window, WINDOW),
        (SmsSend.user_id == factor.user_id, per_day, DAY),
    ):
        until = _cap(where, now - span, limit, span, now)
        if until is not None:
            return refused(Reason.THROTTLED, until)
    return None


def account_key(user_id: int, purpose: Purpose) -> str:
    return f"user:{user_id}:{purpose}"


def purpose_of(factor: SmsFactor) -> Purpose:
    """A confirmed phone gets sign-in codes; a pending one the code that confirms it."""
    return Purpose.SIGN_IN if factor.confirmed_at is not None else Purpose.ENROLL


def cooldown_until(factor: SmsFactor, now: datetime) -> datetime | None:
    """When factor's account may get its next text of factor's purpose, if that is still in the future.

    The cooldown belongs to the account and the purpose, not to the number's row: cancelling a setup and
    adding the number (or another) again waits for it too. Sign-in codes have their own, so signing in
    right after confirming a phone does not wait for the confirmation's cooldown.
    """
    until = _next_send_at(account_key(factor.user_id, purpose_of(factor)))
    return until if until is not None and until > now else None


def _next_send_at(key: str) -> datetime | None:
    until = db.session.scalar(select(SmsThrottle.next_send_at).where(SmsThrottle.key == key))
    return as_utc(until) if until is not None else None


def _claim(factor: SmsFactor, purpose: Purpose, now: datetime) -> Verdict | None:
    """Claim the account's cooldown and lock the number, then count the caps; None if the send may go.

    Security: the account's row is claimed by a conditional UPDATE, so one of parallel sends wins it;
    the number's row is then updated (locked) too, so sends from several accounts to one number count
    the caps one after another (PostgreSQL row locks; SQLite has one writer at a time). Rows are always
    taken in the same order, account then number, so two sends cannot deadlock.
    """
    account, number = account_key(factor.user_id, purpose), phone_key(factor.phone)
    insert_missing(SmsThrottle, SmsThrottle.key, [{"key": account}, {"key": number}])
    db.session.commit()  # the rows exist for every process before any of them locks them
    cooldown = timedelta(seconds=current_app.config["SMS_RESEND_COOLDOWN"])
    claimed = rowcount(db.session.execute(
        update(SmsThrottle)
        .where(SmsThrottle.key == account, or_(SmsThrottle.next_send_at.is_(None), SmsThrottle.next_send_at <= now))
        .values(next_send_at=now + cooldown)
        .execution_options(synchronize_session=False)
    ))
    if claimed != 1:
        db.session.rollback()
        soonest = now + timedelta(seconds=1)  # the winner's claim is in the future, or about to be
        return refused(Reason.COOLDOWN, max(_next_send_at(account) or soonest, soonest))
    db.session.execute(update(SmsThrottle).where(SmsThrottle.key == number)
                       .values(next_send_at=SmsThrottle.next_send_at)  # changes nothing; takes the row's lock
                       .execution_options(synchronize_session=False))
    wait = check_caps(factor, now)  # counted again under both locks: a parallel send has committed its row
    if wait is not None:
        db.session.rollback()
    return wait


def send(factor: SmsFactor, purpose: Purpose, *, language: str, now: datetime,
         ip: str | None = None) -> Verdict | None:
    """Send a new code to factor's phone (None), or say how long to wait: a COOLDOWN or THROTTLED verdict.

    Commits: the claim on the cooldown and the caps before the provider is called (so a slow provider holds no
    lock), and the send's audit row after it. Raises SmsError, with everything of the send undone.

    What the caller has pending (a new number) is committed with the claim. A text that went out is in
    the audit log (masked number, purpose, ip): sms.sent.
    """
    wait = check_caps(factor, now)  # a cheap refusal before any lock
    if wait is not None:
        return wait
    account = account_key(factor.user_id, purpose)
    before = _next_send_at(account)
    last_sent = factor.last_sent_at
    wait = _claim(factor, purpose, now)
    if wait is not None:
        db.session.refresh(factor)
        return wait
    factor.last_sent_at = now
    sent = SmsSend(user_id=factor.user_id, phone_key=phone_key(factor.phone), purpose=str(purpose), sent_at=now)
    db.session.add(sent)
    db.session.commit()
    message = Message(user_id=factor.user_id, phone=factor.phone, purpose=purpose, language=language)
    try:
        provider().send_code(message, now=now)
    except SmsError:
        db.session.rollback()
        db.session.execute(delete(SmsSend).where(SmsSend.id == sent.id))
        db.session.execute(update(SmsThrottle).where(SmsThrottle.key == account).values(next_send_at=before))
        db.session.execute(update(SmsFactor).where(SmsFactor.id == factor.id).values(last_sent_at=last_sent))
        db.session.commit()
        raise
    audit.record(Event.SMS_SENT, actor=None, subject=db.session.get(User, factor.user_id), ip=ip,
                 purpose=str(purpose), phone=mask(factor.phone))
    db.session.commit()
    db.session.refresh(factor)
    return None
