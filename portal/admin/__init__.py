"""/admin: find users, disable their 2FA after a recorded identity check, read the audit log.

One blueprint; its pages are split by feature (users, disable_requests, audit), each registering its routes on
bp. Security: every view is behind the guard (admins only, with a second factor of their own); every POST
needs the password and a second factor proved within FRESH_AUTH_SECONDS (the step-up page, auth.stepup); a
form posted without them is kept server-side and comes back filled in after the confirmation (auth.held).
"""

from __future__ import annotations

from flask import Blueprint, g, redirect, request, url_for
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.wrappers import Response

from portal.admin import queries
from portal.admin.operations import REQUEST_STATUSES, status_of
from portal.auth import held
from portal.auth.fresh import admin_refusal, stepped_up

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def _guard() -> Response | None:
    refused = admin_refusal()
    if refused is not None:
        return refused
    if request.method == "POST" and not stepped_up():
        # Security: a stolen admin session (or one left open) cannot act without the password and a code.
        # CSRFProtect checked this POST's token already (an app hook, before ours): a forged one is never kept.
        page = _page_of_post()
        held.hold(page)  # what the admin typed comes back on page after the confirmation (never in the URL)
        return redirect(url_for("stepup.confirm", next=page))
    if request.method == "GET":
        g.held_form = held.take(request.path)  # a form kept for this page through the confirmation, if any
    return None


def held_formdata(action: str) -> ImmutableMultiDict[str, str] | None:
    """The fields typed into the form posting to action, kept through the step-up (see _guard), or None."""
    kept: held.Held | None = g.get("held_form")
    return kept.formdata_for(action) if kept is not None else None


@bp.context_processor
def _admin_context() -> dict[str, object]:
    return {"request_status": lambda row: REQUEST_STATUSES[status_of(row)],
            # Called by _nav.html only: error pages (a database outage, say) never query for it.
            "pending_requests": queries.pending_count}


def _page_of_post() -> str:
    """Where to return after the confirmation: the POST's own URL if it has a page, else the page its form is on."""
    rule = request.url_rule
    if rule is not None and rule.methods is not None and "GET" in rule.methods:
        return request.path
    if request.view_args and "request_id" in request.view_args:
        return url_for("admin.request_detail", request_id=request.view_args["request_id"])
    return url_for("admin.users")
