"""What a user is told when they sign in: changes to their sign-in methods since the previous sign-in."""

from __future__ import annotations

from flask import flash, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from markupsafe import Markup, escape

from portal import factors, security_events
from portal.account import activity
from portal.models import AuditEvent, User


def since_previous_sign_in(user: User, signed_in: AuditEvent) -> None:
    """Flash the changes recorded since the previous sign-in (signed_in is this sign-in's audit row).

    After support turned two-step verification off, the user is also invited to set it up again.
    """
    changes = security_events.since_previous_sign_in(user, signed_in)
    if changes:
        listed = "; ".join(_("%(what)s (%(when)s UTC, %(ip)s)", what=str(activity.LABELS.get(e.event, e.event)),
                             when=format_datetime(e.at), ip=e.ip or "?") for e in changes[-5:])
        flash(_("Since your last sign-in: %(changes)s. If this was not you, check your sign-in methods below "
                "and contact support.", changes=listed), "warning")
    if not factors.is_on(user) and security_events.disabled_by_support_since(user, signed_in):
        link = Markup('<a href="{url}">{label}</a>').format(url=url_for("totp.setup"),
                                                            label=_("Set up two-step verification again"))
        flash(escape(_("Support turned off two-step verification for your account, so your password alone "
                       "signs you in now.")) + " " + link, "warning")
