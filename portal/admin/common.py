"""What the admin pages share: query parameters read safely, and the answers after a disable."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from portal.auth import flow
from portal.models import User


def query_text(name: str, longest: int) -> str:
    """A query parameter as searchable text: control characters (NUL breaks PostgreSQL) dropped, capped."""
    return flow.printable(request.args.get(name, ""))[:longest]


def page_number() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < int(raw) <= 100_000 else 1


def already_off(target: User) -> Response:
    flash(_("Two-step verification of %(email)s is already off: nothing was changed.", email=target.email), "info")
    return redirect(url_for("admin.user", user_id=target.id))


def disabled(target: User, case_reference: str) -> Response:
    flash(_("Two-step verification of %(email)s is off and all of its sessions are signed out. It is recorded "
            "under case %(case)s.", email=target.email, case=case_reference), "success")
    return redirect(url_for("admin.user", user_id=target.id))
