"""Phone enrollment: a pending number, its confirmation, removal (each change with its audit row)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select

from portal import security_events
from portal.extensions import db
from portal.models import SmsFactor, User, UserSession
from portal.phone import mask
from portal.sms import provider
from portal.sms.base import Message, Purpose
from portal.twofactor import methods
from portal.twofactor.methods import recovery
from portal.twofactor.methods.base import OK, Reason, Verdict
from portal.twofactor.methods.sms import confirmed_phone


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


def confirm(user: User, code: str, at: datetime, *, ip: str, keep: UserSession | None = None) -> Verdict:
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
    security_events.changed("sms.changed" if old is not None else "sms.enrolled", user=user, ip=ip, keep=keep,
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
    security_events.changed("sms.removed", user=user, ip=ip, keep=keep,
                            phone=mask(factor.phone) if factor else None)
    if not methods.is_on(user):
        recovery.delete_set(user)
        security_events.changed("recovery.deleted", user=user, ip=ip, keep=keep)
