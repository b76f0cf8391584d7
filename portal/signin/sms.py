"""POST /2fa/sms/send: text a sign-in code to the verified phone of the pending sign-in.

A GET never sends a text; any phone number in the request is ignored. Whatever a press gets, a text or a wait
(the resend cooldown, a cap), the answer is a 303 back to the code page, whose countdown says the wait; so the
address bar never stays on this POST-only address. Only a provider fault is answered here, with its status.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _

from portal import factors
from portal.auth import flow
from portal.clock import now
from portal.factors.base import Verdict
from portal.factors.forms import CodeForm
from portal.factors.recovery import has_set
from portal.i18n import current_language
from portal.responses import Page, refusal
from portal.security import client_ip, safe_next
from portal.sms import send_limit
from portal.sms.base import SmsError
from portal.sms.messages import wait_message

bp = Blueprint("signin_sms", __name__, url_prefix="/2fa/sms")
WAIT = "wait"  # the flash category of a wait: the page's countdown hides it at zero (templates/base.html)


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
    at = now()
    resending = bool(method.page_context(user, now=at).get("code_sent"))
    try:
        sent: Verdict | SmsError = method.challenge(user, now=at, language=current_language(), ip=client_ip())
    except SmsError as error:
        sent = error
    if isinstance(sent, SmsError) or not (sent.ok or sent.retry_at is not None):
        # The provider failed: its message and status here; the sign-in stays, with the other ways in.
        return refusal("signin/verify.html", sent, method, form=CodeForm(formdata=None), method=method,
                       next_url=next_url, others=len(factors.primary(user)) > 1, recovery=has_set(user),
                       **method.page_context(user, now=at))
    if not sent.ok:  # the cooldown or a cap: the page's countdown says how long
        flash(wait_message(sent), WAIT)
    elif resending:  # the page said a code was sent before: only the newest is sure to work
        flash(_("Enter the code from the newest text message."), "info")
    given = request.args.get("next")
    return redirect(url_for("signin.verify", method="sms", next=next_url if given else None), code=303)
