"""Changes to how a user signs in: the audit row, the other sessions signed out, and the notice.

SECURITY.md: every such change is audited in its transaction, revokes the user's other sessions on the
server (a copied cookie stops working), and is brought to the user's attention: by email (portal.mail),
sent once the change commits, at the next sign-in ("Since your last sign-in: …") and in recent activity.
Which events are which is said once, in portal.events.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from portal import audit, mail
from portal.auth import flow
from portal.events import LISTED_AT_NEXT_SIGN_IN, SECOND_FACTOR_SIGN_INS, Event
from portal.extensions import db
from portal.models import AuditEvent, User, UserSession

# Read from portal.events (not a second copy): what is listed at the next sign-in, and the sign-ins.
NOTIFY = frozenset(e.value for e in LISTED_AT_NEXT_SIGN_IN)
SIGN_INS = tuple(sorted(e.value for e in SECOND_FACTOR_SIGN_INS))
PASSWORD_ONLY = Event.SIGNIN_PASSWORD  # a sign-in of an account without a second factor


def changed(event: Event | str, *, user: User, ip: str | None, keep: UserSession | None, **details: Any) -> None:
    """Record a sign-in change and sign out every other session of the user, in the caller's transaction.

    keep is the session that made the change (it stays signed in); None signs out every session. A name is
    converted with Event(name): one that is not an Event raises ValueError before anything changes.
    """
    event = Event(event)
    audit.record(event, actor=user, subject=user, ip=ip, **details)
    flow.revoke_sessions(user, keep=keep)
    mail.notify(user.email, event, ip=ip)


def since_previous_sign_in(user: User, current: AuditEvent) -> list[AuditEvent]:
    """Changes recorded between the previous sign-in with a second factor and `current` (this one).

    Ordered by id, not time: ids follow commit order in one database, and clocks can be injected. A
    password-only sign-in also counts as the previous one for the next password-only sign-in, so a notice
    (two-step verification turned off by support) is given once, not at every sign-in after it.
    """
    boundaries = (*SIGN_INS, PASSWORD_ONLY) if current.event == PASSWORD_ONLY else SIGN_INS
    previous = db.session.scalar(
        select(AuditEvent.id).where(AuditEvent.subject_id == user.id, AuditEvent.event.in_(boundaries),
                                    AuditEvent.id < current.id)
        .order_by(AuditEvent.id.desc()).limit(1)
    )
    if previous is None:
        return []  # the first sign-in with a second factor: the user set it up in the session before
    return list(db.session.scalars(
        select(AuditEvent).where(AuditEvent.subject_id == user.id, AuditEvent.event.in_(NOTIFY),
                                 AuditEvent.id > previous, AuditEvent.id < current.id)
        .order_by(AuditEvent.id)
    ))


def disabled_by_support_since(user: User, current: AuditEvent) -> bool:
    """Whether support turned the user's 2FA off after their previous sign-in of any kind (or ever, if none)."""
    previous = db.session.scalar(
        select(AuditEvent.id).where(AuditEvent.subject_id == user.id,
                                    AuditEvent.event.in_((*SIGN_INS, PASSWORD_ONLY)), AuditEvent.id < current.id)
        .order_by(AuditEvent.id.desc()).limit(1)
    )
    query = select(AuditEvent.id).where(AuditEvent.subject_id == user.id,
                                        AuditEvent.event == Event.ADMIN_TWO_FACTOR_DISABLED.value,
                                        AuditEvent.id < current.id)
    if previous is not None:
        query = query.where(AuditEvent.id > previous)
    return db.session.scalar(query.limit(1)) is not None
