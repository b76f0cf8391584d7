"""The page that shows a new set of recovery codes, once: after a first factor and after "generate new codes"."""

from __future__ import annotations

from flask import render_template
from flask_babel import gettext as _

from portal import factors, security_events
from portal.auth import flow
from portal.auth.forms import PostForm
from portal.clock import now
from portal.events import Event
from portal.factors.recovery import generate_set, shown
from portal.mail import site_url
from portal.models import User
from portal.security import client_ip


def _first_notice(user: User) -> str | None:
    """What the first set comes with: the factor just set up (the only one the user has)."""
    kinds = {m.kind for m in factors.primary(user)}
    if "totp" in kinds and "sms" not in kinds:
        return _("Your authenticator app is set up.")
    if "sms" in kinds and "totp" not in kinds:
        return _("Your phone is confirmed. You can now sign in with a code sent to it.")
    return None


def show_codes(codes: list[str], user: User, *, first: bool) -> str:
    """Record the new set and render it: the only response that ever holds these codes in clear.

    The caller commits. The page is sent with Cache-Control: no-store (every page is), and it is the
    answer to a POST, so Back cannot bring the codes back from a cache or a GET.
    """
    # Security: a sensitive change: audited in this transaction, every other session signed out.
    security_events.changed(Event.RECOVERY_GENERATED, user=user, ip=client_ip(), keep=flow.current_row(),
                            count=len(codes))
    return render_template("account/recovery_codes_show.html", codes=[shown(code) for code in codes],
                           first=_first_notice(user) if first else None, form=PostForm(),
                           filename="recovery-codes.txt", made=now(), site=site_url() + "/")


def show_new_set(user: User, *, first: bool) -> str:
    """Make a new set (the first one, at enrollment) and render it. The caller commits."""
    return show_codes(generate_set(user, now()), user, first=first)
