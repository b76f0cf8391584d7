"""POST /2fa/sms/send: text a sign-in code to the verified phone of the pending sign-in.

A GET never sends a text; any phone number in the request is ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from portal.auth import flow
from portal.clock import now
from portal.i18n import current_language
from portal.models import User
from portal.security import client_ip, safe_next
from portal.sms import send_limit
from portal.sms.base import SmsError, http_status, retry_after
from portal.sms.delivery import Wait
from portal.sms.messages import fault_message, seconds_until, wait_message
from portal.twofactor import methods
from portal.twofactor.forms import CodeForm
from portal.twofactor.methods.base import Reason
from portal.twofactor.methods.recovery import has_set
from portal.twofactor.methods.sms import SmsMethod

bp = Blueprint("sms_signin", __name__, url_prefix="/2fa/sms")


@bp.route("/send", methods=["POST"])
@flow.second_step
@send_limit
def send() -> Response | tuple[str, int] | tuple[str, int, dict[str, str]]:
    user = flow.pending_user()
    if user is None:
        flash(_("Your sign-in expired or was cancelled. Enter your password again."), "warning")
        return redirect(url_for("auth.login"))
    method = methods.get("sms")
    if not isinstance(method, SmsMethod) or not method.is_enrolled(user):
        abort(404)
    next_url = safe_next(request.args.get("next"))
    at = now()
    page = {"form": CodeForm(formdata=None), "method": method, "next_url": next_url,
            "others": len(methods.primary(user)) > 1, "recovery": has_set(user)}
    refused = text_code(method, user, at, lambda error: render_template(
        "twofactor/verify.html", error=error, **page, **method.page_context(user, now=at)))
    if refused is not None:
        return refused
    given = request.args.get("next")
    return redirect(url_for("twofactor.verify", method="sms", next=next_url if given else None), code=303)


def text_code(method: SmsMethod, user: User, at: datetime,
              render: Callable[[str], str]) -> tuple[str, int] | tuple[str, int, dict[str, str]] | None:
    """Text user a sign-in code; None when it went (a flash says where), else the refusal page from render.

    A provider failure gets its own status (and Retry-After when it has one); a cooldown or cap gets 429.
    The sign-in (or the admin's confirmation) stays, so the page can offer the other methods.
    """
    try:
        verdict = method.challenge(user, now=at, language=current_language(), ip=client_ip())
    except SmsError as error:
        html = render(fault_message(error))
        wait = retry_after(error)
        return (html, http_status(error), {"Retry-After": str(wait)}) if wait else (html, http_status(error))
    if verdict.retry_at is not None:
        wait = Wait("cooldown" if verdict.reason is Reason.COOLDOWN else "cap", verdict.retry_at)
        return render(wait_message(wait, at)), 429, {"Retry-After": str(seconds_until(verdict.retry_at, at))}
    flash(_("We sent a code to %(phone)s.", phone=method.page_context(user, now=at).get("phone", "")), "info")
    return None
