"""The second step of signing in: choose a method, enter its code, or use a recovery code."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from markupsafe import Markup, escape
from werkzeug.wrappers import Response

from portal import audit, mail, memo
from portal.account import notices
from portal.auth import flow
from portal.clock import now
from portal.extensions import db
from portal.i18n import sentence_gap
from portal.models import User
from portal.responses import locked_response, wait_response
from portal.security import client_ip, safe_next
from portal.sms.base import SmsError, http_status, retry_after
from portal.sms.messages import fault_message
from portal.twofactor import attempts, methods
from portal.twofactor.forms import CodeForm
from portal.twofactor.messages import verdict_message
from portal.twofactor.methods import Method
from portal.twofactor.methods.recovery import LOW_WATER, has_set, remaining

bp = Blueprint("twofactor", __name__, url_prefix="/2fa")
log = logging.getLogger("portal.twofactor")

Page = Response | str | tuple[str, int] | tuple[str, int, dict[str, str]]


def _expired() -> Response:
    flash(_("Your sign-in expired or was cancelled. Enter your password again."), "warning")
    return redirect(url_for("auth.login"))


@bp.route("", methods=["GET"])
@flow.second_step
def choose() -> Response | str:
    user = flow.pending_user()
    if user is None:
        return _expired()
    available = methods.primary(user)
    next_url = safe_next(request.args.get("next"))
    if len(available) == 1:
        return redirect(url_for("twofactor.verify", method=available[0].kind, next=next_url))
    return render_template("twofactor/choose.html", methods=available, next_url=next_url,
                           recovery=methods.get("recovery") is not None and has_set(user))


@bp.route("/verify", methods=["GET", "POST"])
@flow.second_step
def verify() -> Page:
    kind = request.args.get("method", "")
    if kind == "recovery":
        return redirect(url_for("twofactor.recovery", next=request.args.get("next")))
    return _second_step(methods.get(kind), "twofactor/verify.html")


@bp.route("/recovery", methods=["GET", "POST"])
@flow.second_step
def recovery() -> Page:
    return _second_step(methods.get("recovery"), "twofactor/recovery.html")


def _second_step(method: Method | None, template: str) -> Page:
    """Check one code for the pending sign-in; on success finish signing in (one transaction)."""
    user = flow.pending_user()
    row = flow.current_row()
    if user is None or row is None:
        return _expired()
    if method is None or (method.primary and not method.is_enrolled(user)):
        abort(404)
    form = CodeForm()
    next_url = safe_next(request.args.get("next"))

    def page() -> dict[str, object]:
        """What the code page shows; only read when it is shown (a correct code goes straight on)."""
        return {"form": form, "method": method, "next_url": next_url, "others": len(methods.primary(user)) > 1,
                "recovery": has_set(user), **method.page_context(user, now=now())}

    lockable = method.primary  # a recovery code is the way out of a lock
    if lockable and attempts.is_locked(user):
        return locked_response(template, **page())
    if not form.validate_on_submit():
        return render_template(template, **page()), 400 if form.is_submitted() else 200
    code = method.canonical(form.code.data or "")
    if code is None:
        form.code.errors.append(method.format_hint)
        return render_template(template, **page()), 400
    at = now()
    refusal = attempts.admit(user, at, ignore_lock=not lockable)
    # The attempt counts even if this request dies. What the request read stays loaded: the user was just
    # refreshed, and the code check decides in the database (a conditional UPDATE), not from what is loaded.
    memo.commit_keeping()
    if refusal is not None and refusal.locked:
        return locked_response(template, **page())
    if refusal is not None:
        return wait_response(template, refusal.retry_at or at, **page())
    try:
        verdict = method.verify(user, code, now=at)
    except SmsError as error:
        # The provider could not check the code: say so; the pending sign-in stays for another method.
        db.session.rollback()
        wait = retry_after(error)
        html = render_template(template, error=fault_message(error), **page())
        return (html, http_status(error), {"Retry-After": str(wait)}) if wait else (html, http_status(error))
    if verdict.ok:
        # Consuming the code, the audit row and the new session commit together or not at all.
        left = remaining(user) if has_set(user) else None
        details = {"method": method.kind} if left is None else {"method": method.kind, "recovery_codes_left": left}
        event = "recovery.used" if method.kind == "recovery" else "signin.second_factor"
        signed_in = audit.record(event, actor=user, subject=user, ip=client_ip(), **details)
        mail.notify(user.email, event, ip=client_ip())  # only recovery.used is a notice
        attempts.reset(user)  # written with the sign-in's other changes to the user: one UPDATE
        if flow.complete(row) is None:  # signed out from another device while the code was checked
            db.session.rollback()  # the code stays unused, nothing is recorded as a sign-in
            return _expired()
        memo.commit_keeping()  # what is read next is what this request just wrote
        notices.since_previous_sign_in(user, signed_in)
        _after_sign_in(user, method, left)
        return redirect(next_url)
    audit.record("signin.second_factor_failed", actor=None, subject=user, ip=client_ip(), method=method.kind,
                 reason=str(verdict.reason))
    if user.factor_failures == current_app.config["SECOND_FACTOR_LOCK_AT"]:  # this attempt reached the lock
        audit.record("signin.locked", actor=None, subject=user, ip=client_ip(), failures=user.factor_failures)
        mail.notify(user.email, "signin.locked", ip=client_ip())
    dropped = flow.record_failed_code(row)
    db.session.commit()
    log.info("second factor rejected", extra={"user_id": user.id, "reason": str(verdict.reason)})
    if dropped is None:  # the pending sign-in ended while the code was checked
        return _expired()
    if dropped:
        flash(_("Too many wrong codes. Sign in again with your password."), "warning")
        return redirect(url_for("auth.login"))
    form.code.errors.append(verdict_message(verdict, method.kind))
    if row.failed_codes == current_app.config["PENDING_MAX_FAILURES"] - 1:
        form.code.errors.append(_("One more wrong code ends this sign-in, and you will need your password again."))
    form.code.data = ""  # a refused code is no use in the box: the next attempt needs a new one
    return render_template(template, **page()), 400


def _link(url: str, label: str) -> Markup:
    return Markup('<a href="{url}">{label}</a>').format(url=url, label=label)


def _linked(sentence: str, **links: Markup) -> Markup:
    """A translated sentence with %(name)s placeholders: the sentence is escaped, the links are not."""
    return escape(sentence) % links


def _lost_phone_hint(user: User) -> Markup:
    """Where to put a lost phone right: the authenticator app's and the phone number's settings."""
    kinds = {m.kind for m in methods.primary(user)}
    totp = _link(url_for("totp.setup"), _("set up your authenticator app again"))
    sms = _link(url_for("sms.setup"), _("change the phone number for text messages"))
    if "totp" in kinds and "sms" in kinds:
        return _linked(_("If you lost your phone, %(totp)s and %(sms)s."), totp=totp, sms=sms)
    if "sms" in kinds:
        return _linked(_("If you lost your phone, %(link)s."), link=sms)
    return _linked(_("If you lost your phone, %(link)s."), link=totp)


def low_codes_warning(left: int) -> Markup:
    """The warning for LOW_WATER codes or fewer, with a link to the recovery codes page."""
    text = _("No recovery codes are left.") if left == 0 else ngettext(
        "Only %(num)d recovery code is left.", "Only %(num)d recovery codes are left.", left)
    return escape(text) + sentence_gap() + _link(url_for("recovery_codes.overview"), _("Generate new codes"))


def _after_sign_in(user: User, method: Method, left: int | None) -> None:
    """Tell the user what a recovery sign-in means, and warn at every sign-in when few codes are left."""
    if method.kind == "recovery":
        flash(escape(ngettext("You signed in with a recovery code. %(num)d code is left.",
                              "You signed in with a recovery code. %(num)d codes are left.", left or 0))
              + sentence_gap() + _lost_phone_hint(user), "warning")
    if method.primary or methods.is_on(user):  # two-step verification is on: the codes are the way back in
        count = remaining(user)
        if count <= LOW_WATER:
            flash(low_codes_warning(count), "warning")
