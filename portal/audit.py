"""The audit log: record() adds a row to the caller's transaction and writes one structured log line."""

from __future__ import annotations

import json
import logging
from typing import Any

from portal.clock import now
from portal.events import Event
from portal.extensions import db
from portal.models import AuditEvent, User

log = logging.getLogger("portal.audit")


def record(event: Event | str, *, actor: User | None, subject: User | None, ip: str | None,
           **details: Any) -> AuditEvent:
    """Add an audit row and return it; it commits (or rolls back) with the change it describes.

    A name is converted with Event(name): one that is not an Event raises ValueError, and nothing is added.
    Never pass codes, secrets, passwords or full phone numbers in details.
    """
    name = Event(event).value  # the stored string, as before the enum
    row = AuditEvent(at=now(), event=name, actor_id=actor.id if actor else None,
                     subject_id=subject.id if subject else None, ip=ip, details=details)
    db.session.add(row)
    log.info("%s", json.dumps({"event": name, "actor": row.actor_id, "subject": row.subject_id, "ip": ip,
                               **details}, default=str, sort_keys=True))
    return row
