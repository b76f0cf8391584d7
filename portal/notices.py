"""What a user is told when they sign in: the changes to their sign-in methods since their previous sign-in,
and, after support turned two-step verification off, an invitation to set it up again.

Below the pages, next to portal.events: the sign-in pages call flash_since_previous_sign_in during the
request (it flashes and builds a link); it imports no page module.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import flash, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from markupsafe import Markup, escape
from sqlalchemy import select

from portal import factors
from portal.events import ALL_SIGN_INS, LISTED_AT_NEXT_SIGN_IN, SECOND_FACTOR_SIGN_INS, Event, SignIn, label_of
from portal.extensions import db
from portal.i18n import format_list
from portal.models import AuditEvent, User

LISTED_AT_MOST = 5  # the most recent changes; the account page lists them all


def flash_since_previous_sign_in(user: User, signed_in: AuditEvent) -> None:
    """Flash the changes recorded since the previous sign-in (signed_in is this sign-in's audit row).

    After support turned two-step verification off, the user is told so once, with an invitation to set it up
    again; that change is then not listed a second time among the others.
    """
    changes = changes_since_previous_sign_in(user, signed_in)
    turned_off = None if factors.is_on(user) else turned_off_by_support(user, signed_in)
    if turned_off is not None:
        changes = [e for e in changes if e.event != Event.ADMIN_TWO_FACTOR_DISABLED.value]
    if changes:
        listed = format_list(_("%(what)s (%(when)s UTC, %(ip)s)", what=label_of(e.event), when=format_datetime(e.at),
                               ip=e.ip or "?") for e in changes[-LISTED_AT_MOST:])
        flash(_("Since your last sign-in: %(changes)s. If this was not you, check your sign-in methods below "
                "and contact support.", changes=listed), "warning")
    if turned_off is not None:
        link = Markup('<a href="{url}">{label}</a>').format(url=url_for("totp.setup"),
                                                            label=_("Set up two-step verification again"))
        # One translated text around the link: each language puts its own spacing (none in Chinese) before it.
        # Markup's % escapes the date and keeps the link.
        text = escape(_("Support turned off two-step verification for your account (%(when)s UTC), so your password "
                        "alone signs you in now. If you did not ask for this, contact support. %(link)s"))
        flash(text % {"when": format_datetime(turned_off.at), "link": link}, "warning")


def changes_since_previous_sign_in(user: User, current: AuditEvent) -> list[AuditEvent]:
    """The changes listed at sign-in recorded between the previous sign-in with a second factor and `current`.

    Ordered by id, not time: ids follow commit order in one database, and clocks can be injected. A
    password-only sign-in also counts as the previous one for the next password-only sign-in, so a notice
    (two-step verification turned off by support) is given once, not at every sign-in after it.
    """
    password_only = Event(current.event).sign_in is SignIn.PASSWORD_ONLY
    previous = _previous_sign_in_id(user, current, ALL_SIGN_INS if password_only else SECOND_FACTOR_SIGN_INS)
    if previous is None:
        return []  # the first sign-in with a second factor: the user set it up in the session before
    return list(db.session.scalars(
        select(AuditEvent).where(AuditEvent.subject_id == user.id, AuditEvent.event.in_(_names(LISTED_AT_NEXT_SIGN_IN)),
                                 AuditEvent.id > previous, AuditEvent.id < current.id)
        .order_by(AuditEvent.id)
    ))


def turned_off_by_support(user: User, current: AuditEvent) -> AuditEvent | None:
    """The last time support turned the user's 2FA off after their previous sign-in of any kind (or ever, if none)."""
    previous = _previous_sign_in_id(user, current, ALL_SIGN_INS)
    query = select(AuditEvent).where(AuditEvent.subject_id == user.id,
                                     AuditEvent.event == Event.ADMIN_TWO_FACTOR_DISABLED.value,
                                     AuditEvent.id < current.id)
    if previous is not None:
        query = query.where(AuditEvent.id > previous)
    return db.session.scalar(query.order_by(AuditEvent.id.desc()).limit(1))


def _previous_sign_in_id(user: User, current: AuditEvent, kinds: Iterable[Event]) -> int | None:
    """The id of the user's last sign-in of one of these events before `current`, if any."""
    return db.session.scalar(
        select(AuditEvent.id).where(AuditEvent.subject_id == user.id, AuditEvent.event.in_(_names(kinds)),
                                    AuditEvent.id < current.id)
        .order_by(AuditEvent.id.desc()).limit(1)
    )


def _names(events: Iterable[Event]) -> list[str]:
    """The stored names of events, in a stable order (the SQL is the same every time)."""
    return sorted(e.value for e in events)
