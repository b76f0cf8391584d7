"""/admin/confirm: the step-up before admin actions: the password and a current second-factor code again.

Security: a stolen session must learn nothing about a guessed password. The lock and the delay are shown
before the password is checked, and every refusal after it reads the same. Only with the right password does
a code go through the gate (and count toward the second-factor delays and lock), so wrong passwords cannot
lock the admin out (the password throttle limits those).
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_timedelta
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from portal import factors
from portal.auth import flow, held, throttle
from portal.auth.forms import ConfirmForm
from portal.auth.fresh import admin_refusal
from portal.clock import as_utc, now
from portal.crypto import passwords
from portal.extensions import db
from portal.factors import Method, gate
from portal.factors.base import Reason, refused
from portal.responses import Page, refusal, refused_text
from portal.security import client_ip, safe_next
from portal.sms import send_limit
from portal.sms.base import SmsError

bp = Blueprint("stepup", __name__, url_prefix="/admin")
TEMPLATE = "admin/confirm.html"


@bp.before_request
def _guard() -> Response | None:
    return admin_refusal()


CONFIRM_KINDS = ("totp", "sms")  # the factors an admin confirms actions with, preferred first


def _confirm_methods() -> list[Method]:
    return [m for m in (factors.get(kind) for kind in CONFIRM_KINDS) if m is not None and m.is_enrolled(current_user)]


def _confirm_page(form: ConfirmForm, next_url: str, kind: str | None = None) -> tuple[Method | None, dict[str, object]]:
    """The factor of that kind (default: ?method=, else the first enrolled one) and what confirm.html shows of it."""
    enrolled = _confirm_methods()
    wanted = kind or request.args.get("method")
    method = next((m for m in enrolled if m.kind == wanted), enrolled[0] if enrolled else None)
    page: dict[str, object] = {"form": form, "next_url": next_url, "method": method,
                               "others": [m for m in enrolled if m is not method],
                               # Why it is asked: a form waits (held) or not, and how long a confirmation lasts.
                               "held": held.peek() is not None,
                               "lasts": format_timedelta(timedelta(seconds=current_app.config["FRESH_AUTH_SECONDS"]))}
    if method is not None:
        page.update(method.page_context(current_user, now=now()))
    return method, page


@bp.route("/confirm", methods=["GET", "POST"])
def confirm() -> Page:
    """The password and a current second-factor code (authenticator app or text message), before admin actions."""
    next_url = safe_next(request.args.get("next"), default=url_for("admin.users"))
    form = ConfirmForm()
    method, page = _confirm_page(form, next_url)
    if method is None:  # the guard lets no admin without a factor in; a factor of another kind lands here
        return render_template(TEMPLATE, error=_("Admin actions are confirmed with a code from an authenticator "
                                                 "app or a text message. Set one up first."), **page), 403
    if not form.validate_on_submit():
        return render_template(TEMPLATE, **page), 400 if form.is_submitted() else 200
    at = now()
    waiting = throttle.count_attempt(current_user.email, at)
    db.session.commit()
    until = waiting.retry_at if waiting is not None else None
    if gate.is_locked(current_user):
        return refusal(TEMPLATE, refused(Reason.LOCKED), **page)
    retry_at = as_utc(current_user.factor_retry_at) if current_user.factor_retry_at else None
    wait_until = max([t for t in (until, retry_at) if t is not None and t > at], default=None)
    if wait_until is not None:
        return refusal(TEMPLATE, refused(Reason.WAIT, wait_until), **page)
    wrong = _("The password or the code is not correct.")
    if not passwords().verify(current_user.password_hash, form.password.data or ""):
        form.code.data = ""
        return render_template(TEMPLATE, error=wrong, **page), 400
    try:
        checked = gate.check(method, current_user, form.code.data or "", now=at, ip=client_ip())
    except SmsError as error:  # the provider could not check the code: say so, nothing but the attempt is kept
        return refusal(TEMPLATE, error, method, **page)
    if not checked.ok:
        db.session.commit()
        form.code.data = ""
        return render_template(TEMPLATE, error=wrong, **page), 400
    throttle.reset(current_user.email)
    row = flow.current_row()
    if row is None or not flow.confirm_password(row, with_factor=True):  # signed out while the code was checked
        db.session.rollback()
        return redirect(url_for("auth.login"))
    db.session.commit()
    kept = held.peek()
    if kept is not None:  # back to the form, filled in as typed (its page takes the fields): nothing is replayed
        flash(_("Confirmed. Nothing was sent yet: check the form and send it again."), "success")
        return redirect(kept.page)
    return redirect(next_url)


@bp.route("/confirm/send", methods=["POST"])
@send_limit
def send() -> Page:
    """Text the admin a code for the confirmation (to the verified phone only; CSRF like every POST)."""
    next_url = safe_next(request.args.get("next"), default=url_for("admin.users"))
    method = factors.get("sms")
    if method is None or not method.is_enrolled(current_user):
        abort(404)
    page = _confirm_page(ConfirmForm(formdata=None), next_url, "sms")[1]
    refused_page = refused_text(method, current_user, now(), TEMPLATE, **page)
    if refused_page is not None:
        return refused_page
    return redirect(url_for("stepup.confirm", method="sms", next=next_url), code=303)
