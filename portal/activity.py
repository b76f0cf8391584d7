"""Recent security activity (the account page, the admin's user page), read from the audit log."""

from __future__ import annotations

from sqlalchemy import select

from portal.events import label_of
from portal.extensions import db
from portal.models import AuditEvent, User


def recent(user: User, limit: int = 10) -> list[tuple[AuditEvent, str]]:
    """The user's latest audit rows, newest first, each with its translated label."""
    rows = db.session.scalars(
        select(AuditEvent).where(AuditEvent.subject_id == user.id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
    )
    return [(row, label_of(row.event)) for row in rows]
