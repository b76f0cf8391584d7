"""Codes by text message: the method (the SmsProvider sends and checks them) and the phone's enrollment."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import ClassVar

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, select

from portal import security_events
from portal.clock import as_utc, seconds_until
from portal.events import Event
from portal.extensions import db
from portal.factors import recovery
from portal.factors.base import OK, Method, Reason, Verdict
from portal.memo import remembered
from portal.models import SmsFactor, User, UserSession
from portal.phone import mask
from portal.sms import delivery, provider
from portal.sms.base import Message, Purpose


def confirmed_phone(user: User) -> SmsFactor | None:
    return remembered(SmsFactor.__tablename__, ("confirmed", user.id), lambda: db.session.scalar(
        select(SmsFactor).where(SmsFactor.user_id == user.id, SmsFactor.confirmed_at.is_not(None))
    ))


def countdown(factor: SmsFactor, now: datetime) -> dict[str, object]:
    """What a code page shows about a phone: its masked number, whether a code is out, the wait to resend.

    The wait is the later of the resend cooldown and the caps, so the countdown says what a press would get.
    """
    until = delivery.cooldown_until(factor, now)
    capped = delivery.check_caps(factor, now)
    if capped is not None and capped.retry_at is not None and (until is None or capped.retry_at > until):
        until = capped.retry_at
    ttl = timedelta(seconds=current_app.config["SMS_CODE_TTL"])
    sent = factor.last_sent_at is not None and now - as_utc(factor.last_sent_at) < ttl
    return {"phone": mask(factor.phone), "code_sent": sent, "resend_in": seconds_until(until, now) if until else 0}


class SmsMethod(Method):
    kind = "sms"
    purpose: ClassVar[Purpose] = Purpose.SIGN_IN

    @property
    def label(self) -> str:
        return _("Text message (SMS)")

    def phone_of(self, user: User) -> SmsFactor | None:
        """The phone this method texts: the confirmed one (never a number from the request)."""
        return confirmed_phone(user)

    def is_enrolled(self, user: User) -> bool:
        return self.phone_of(user) is not None

    def page_context(self, user: User, *, now: datetime) -> dict[str, object]:
        factor = self.phone_of(user)
        return countdown(factor, now) if factor is not None else {}

    def challenge(self, user: User, *, now: datetime, language: str = "en", ip: str | None = None) -> Verdict:
        """Text the phone a code of this method's purpose, or say how long to wait (COOLDOWN, THROTTLED)."""
        factor = self.phone_of(user)
        if factor is None:
            return Verdict(ok=False, reason=Reason.INVALID)
        wait = delivery.send(factor, self.purpose, language=language, now=now, ip=ip)
        return OK if wait is None else wait

    def verify(self, user: User, code: str, *, now: datetime) -> Verdict:
        factor = self.phone_of(user)
        if factor is None:
            return Verdict(ok=False, reason=Reason.INVALID)
        message = Message(user_id=user.id, phone=factor.phone, purpose=self.purpose, language="en")
        verdict = provider().check_code(message, code, now=now)
        if verdict.ok:
            factor.last_used_at = now
            factor.last_sent_at = None  # the code is spent: the page no longer says one is on its way
        return verdict


def pending_phone(user: User) -> SmsFactor | None:
    return db.session.scalar(
        select(SmsFactor).where(SmsFactor.user_id == user.id, SmsFactor.confirmed_at.is_(None))
    )


def start(user: User, phone: str, at: datetime) -> SmsFactor:
    """A new pending number, replacing an earlier pending one; the confirmed number keeps working.

    The resend cooldown belongs to the account (delivery.py), so changing the number is no way around it.
    """
    db.session.execute(delete(SmsFactor).where(SmsFactor.user_id == user.id, SmsFactor.confirmed_at.is_(None)))
    factor = SmsFactor(user_id=user.id, phone=phone, created_at=at)
    db.session.add(factor)
    db.session.flush()
    return factor


def confirm(user: User, code: str, at: datetime, *, ip: str | None, keep: UserSession | None = None) -> Verdict:
    """Activate the pending number if code is the one texted to it; the old number goes only now.

    Every session of the user but keep is signed out (None signs out all of them).
    """
    factor = pending_phone(user)
    if factor is None:
        return Verdict(ok=False, reason=Reason.EXPIRED)
    message = Message(user_id=user.id, phone=factor.phone, purpose=Purpose.ENROLL, language="en")
    verdict = provider().check_code(message, code, now=at)
    if not verdict.ok:
        return verdict
    old = confirmed_phone(user)
    if old is not None:
        db.session.delete(old)
        db.session.flush()  # the partial unique index allows one confirmed phone at a time
    factor.confirmed_at = at
    factor.last_sent_at = None  # the enrollment code is spent; the resend cooldown stays
    security_events.changed(Event.SMS_CHANGED if old is not None else Event.SMS_ENROLLED, user=user, ip=ip, keep=keep,
                            phone=mask(factor.phone))
    return OK


def cancel_pending(user: User) -> None:
    db.session.execute(delete(SmsFactor).where(SmsFactor.user_id == user.id, SmsFactor.confirmed_at.is_(None)))


def remove(user: User, *, ip: str, keep: UserSession | None = None) -> None:
    """Delete the phone (and a pending one); with no second factor left, the recovery codes too.

    Every session of the user but keep is signed out.
    """
    factor = confirmed_phone(user)
    db.session.execute(delete(SmsFactor).where(SmsFactor.user_id == user.id))
    security_events.changed(Event.SMS_REMOVED, user=user, ip=ip, keep=keep,
                            phone=mask(factor.phone) if factor else None)
    recovery.drop_if_last_factor_gone(user, ip=ip, keep=keep)


class PendingPhone(SmsMethod):
    """The number being set up, as a method the gate checks: its code confirms it (and retires the old one).

    The confirmation changes how the user signs in, so it is audited with the ip and signs out every other
    session than keep (None: every session).
    """

    purpose = Purpose.ENROLL

    def __init__(self, *, ip: str | None = None, keep: UserSession | None = None) -> None:
        self.ip = ip
        self.keep = keep

    def phone_of(self, user: User) -> SmsFactor | None:
        return pending_phone(user)

    def verify(self, user: User, code: str, *, now: datetime) -> Verdict:
        return confirm(user, code, now, ip=self.ip, keep=self.keep)
