"""Changes to how a user signs in: the audit row, the other sessions signed out, and the notice.

SECURITY.md: every such change is audited in its transaction, revokes the user's other sessions on the
server (a copied cookie stops working), and is brought to the user's attention: by email (portal.mail),
sent once the change commits, at the next sign-in (portal.notices: "Since your last sign-in: …") and in
recent activity. Which events are which is said once, in portal.events.
"""

from __future__ import annotations

from typing import Any

from portal import audit, mail
from portal.auth import flow
from portal.events import Event
from portal.models import User, UserSession


def changed(event: Event | str, *, user: User, ip: str | None, keep: UserSession | None, **details: Any) -> None:
    """Record a sign-in change and sign out every other session of the user, in the caller's transaction.

    keep is the session that made the change (it stays signed in); None signs out every session. A name is
    converted with Event(name): one that is not an Event raises ValueError before anything changes.
    """
    event = Event(event)
    audit.record(event, actor=user, subject=user, ip=ip, **details)
    flow.revoke_sessions(user, keep=keep)
    mail.notify(user.email, event, ip=ip)
