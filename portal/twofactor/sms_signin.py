"""POST /2fa/sms/send: text a sign-in code to the verified phone of the pending sign-in.

A GET never sends a text; any phone number in the request is ignored.
"""

from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from portal.auth import flow
from portal.clock import now
from portal.i18n import current_language
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
log = logging.getLogger("portal.twofactor")


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
    try:
        verdict = method.challenge(user, now=at, language=current_language(), ip=client_ip())
    except SmsError as error:
        # The pending sign-in stays: the page offers the other methods and recovery codes.
        html = render_template("twofactor/verify.html", error=fault_message(error),
                               **page, **method.page_context(user, now=at))
        wait = retry_after(error)
        return (html, http_status(error), {"Retry-After": str(wait)}) if wait else (html, http_status(error))
    if verdict.retry_at is not None:
        wait = Wait("cooldown" if verdict.reason is Reason.COOLDOWN else "cap", verdict.retry_at)
        html = render_template("twofactor/verify.html", error=wait_message(wait, at),
                               **page, **method.page_context(user, now=at))
        return html, 429, {"Retry-After": str(seconds_until(verdict.retry_at, at))}
    context = method.page_context(user, now=at)
    flash(_("We sent a code to %(phone)s.", phone=context.get("phone", "")), "info")
    given = request.args.get("next")
    return redirect(url_for("twofactor.verify", method="sms", next=next_url if given else None), code=303)
