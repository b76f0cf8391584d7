"""POST /2fa/sms/send: text a sign-in code to the verified phone of the pending sign-in.

A GET never sends a text; any phone number in the request is ignored.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _

from portal import factors
from portal.auth import flow
from portal.clock import now
from portal.factors.forms import CodeForm
from portal.factors.recovery import has_set
from portal.responses import Page, refused_text
from portal.security import safe_next
from portal.sms import send_limit

bp = Blueprint("signin_sms", __name__, url_prefix="/2fa/sms")


@bp.route("/send", methods=["POST"])
@flow.second_step
@send_limit
def send() -> Page:
    user = flow.pending_user()
    if user is None:
        flash(_("Your sign-in expired or was cancelled. Enter your password again."), "warning")
        return redirect(url_for("auth.login"))
    method = factors.get("sms")
    if method is None or not method.is_enrolled(user):
        abort(404)
    next_url = safe_next(request.args.get("next"))
    refused = refused_text(method, user, now(), "signin/verify.html", form=CodeForm(formdata=None), method=method,
                        next_url=next_url, others=len(factors.primary(user)) > 1, recovery=has_set(user))
    if refused is not None:
        return refused
    given = request.args.get("next")
    return redirect(url_for("signin.verify", method="sms", next=next_url if given else None), code=303)
