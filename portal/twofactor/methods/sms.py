"""Codes by text message, behind the Method interface; the SmsProvider sends and checks them."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from portal.clock import as_utc
from portal.extensions import db
from portal.memo import remembered
from portal.models import SmsFactor, User
from portal.phone import mask
from portal.sms import delivery, provider
from portal.sms.base import Message, Purpose
from portal.twofactor.methods.base import OK, Method, Reason, Verdict


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
    if capped is not None and (until is None or capped.retry_at > until):
        until = capped.retry_at
    ttl = timedelta(seconds=current_app.config["SMS_CODE_TTL"])
    sent = factor.last_sent_at is not None and now - as_utc(factor.last_sent_at) < ttl
    return {"phone": mask(factor.phone), "code_sent": sent,
            "resend_in": int((until - now).total_seconds() + 0.999) if until else 0}


def wait_verdict(wait: delivery.Wait) -> Verdict:
    """COOLDOWN for the resend cooldown, THROTTLED for the caps per number, account and day."""
    reason = Reason.COOLDOWN if wait.reason == "cooldown" else Reason.THROTTLED
    return Verdict(ok=False, reason=reason, retry_at=wait.retry_at)


class SmsMethod(Method):
    kind = "sms"

    @property
    def label(self) -> str:
        return _("Text message (SMS)")

    def is_enrolled(self, user: User) -> bool:
        return confirmed_phone(user) is not None

    def page_context(self, user: User, *, now: datetime) -> dict[str, object]:
        factor = confirmed_phone(user)
        return countdown(factor, now) if factor is not None else {}

    def challenge(self, user: User, *, now: datetime, language: str = "en", ip: str | None = None) -> Verdict:
        """Text a sign-in code to the verified phone (never to a number from the request)."""
        factor = confirmed_phone(user)
        if factor is None:
            return Verdict(ok=False, reason=Reason.INVALID)
        wait = delivery.send(factor, Purpose.SIGN_IN, language=language, now=now, ip=ip)
        return OK if wait is None else wait_verdict(wait)

    def verify(self, user: User, code: str, *, now: datetime) -> Verdict:
        factor = confirmed_phone(user)
        if factor is None:
            return Verdict(ok=False, reason=Reason.INVALID)
        message = Message(user_id=user.id, phone=factor.phone, purpose=Purpose.SIGN_IN, language="en")
        verdict = provider().check_code(message, code, now=now)
        if verdict.ok:
            factor.last_used_at = now
            factor.last_sent_at = None  # the code is spent: the page no longer says one is on its way
        return verdict
