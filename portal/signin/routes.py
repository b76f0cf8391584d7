"""The second step of signing in (/2fa): choose a method, enter its code, or use a recovery code."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from markupsafe import Markup, escape
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from portal import factors, memo, notices
from portal.auth import flow
from portal.clock import now, seconds_until
from portal.extensions import db
from portal.factors import Method, gate
from portal.factors.base import Reason, refused
from portal.factors.forms import CodeForm, RecoveryCodeForm
from portal.factors.messages import verdict_message
from portal.factors.recovery import LOW_WATER, has_set, remaining
from portal.i18n import sentence_gap
from portal.models import User
from portal.responses import Page, refusal
from portal.security import client_ip, safe_next
from portal.sms.base import SmsError
from portal.waits import countdown

bp = Blueprint("signin", __name__, url_prefix="/2fa")
log = logging.getLogger("portal.signin")


def _expired() -> Response:
    flash(_("Your sign-in expired or was cancelled. Enter your password again."), "warning")
    return redirect(url_for("auth.login"))


@bp.app_context_processor
def _signing_in() -> dict[str, bool]:
    """Whether the page belongs to a sign-in that waits for its second step (the header then offers no
    "Sign in" or "Create account": the person is in the middle of signing in)."""
    try:
        # A page outside the second step (a 404, say) while a sign-in waits: still no "Sign in" in the header;
        # the sign-in and registration pages themselves are where a person starts again.
        waiting = bool(g.get("portal_pending")) and request.blueprint != "auth"
        return {"signing_in": flow.pending_user() is not None or waiting}
    except SQLAlchemyError:  # an error page for a request whose session row went away: no second step shown
        return {"signing_in": False}


@bp.route("", methods=["GET"])
@flow.second_step
def choose() -> Response | str:
    user = flow.pending_user()
    if user is None:
        return _expired()
    available = factors.primary(user)
    next_url = safe_next(request.args.get("next"))
    if len(available) == 1:
        return redirect(url_for("signin.verify", method=available[0].kind, next=next_url))
    return render_template("signin/choose.html", methods=available, next_url=next_url,
                           recovery=factors.get("recovery") is not None and has_set(user))


@bp.route("/verify", methods=["GET", "POST"])
@flow.second_step
def verify() -> Page:
    kind = request.args.get("method", "")
    if kind == "recovery":
        return redirect(url_for("signin.recovery", next=request.args.get("next")))
    return _second_step(factors.get(kind), "signin/verify.html")


@bp.route("/recovery", methods=["GET", "POST"])
@flow.second_step
def recovery() -> Page:
    return _second_step(factors.get("recovery"), "signin/recovery.html")


def _second_step(method: Method | None, template: str) -> Page:
    """Check one code for the pending sign-in; on success finish signing in (one transaction)."""
    user = flow.pending_user()
    row = flow.current_row()
    if user is None or row is None:
        return _expired()
    if method is None or (method.primary and not method.is_enrolled(user)):
        abort(404)
    form = RecoveryCodeForm() if method.kind == "recovery" else CodeForm()
    next_url = safe_next(request.args.get("next"))

    def page() -> dict[str, object]:
        """What the code page shows; only read when it is shown (a correct code goes straight on).

        A wait after wrong codes (of this sign-in or an earlier one) is said before a code is typed, with its
        countdown; a refusal's own sentence replaces it."""
        at = now()
        wait = gate.waiting_until(user, at)
        notice = {"error": countdown(seconds_until(wait, at), codes=True)} if wait is not None else {}
        primary = [m.kind for m in factors.primary(user)]
        return {"form": form, "method": method, "next_url": next_url, "others": len(primary) > 1,
                "primary": primary, "recovery": has_set(user), **method.page_context(user, now=at), **notice}

    if method.lockable and gate.is_locked(user):
        return refusal(template, refused(Reason.LOCKED), method, **page())
    if not form.validate_on_submit():
        return render_template(template, **page()), 400 if form.is_submitted() else 200
    try:
        checked = gate.check(method, user, form.code.data or "", now=now(), ip=client_ip(), signing_in=True)
    except SmsError as error:  # the provider could not check the code: the pending sign-in stays
        return refusal(template, error, method, **page())
    verdict = checked.verdict
    if checked.ok and checked.recorded is not None:  # a sign-in always records its success
        # Consuming the code, the audit row and the new session commit together or not at all.
        # A recovery code signs in but is no fresh second factor for the admin step-up.
        if flow.complete(row, proved_factor=method.primary) is None:  # signed out elsewhere meanwhile
            db.session.rollback()  # the code stays unused, nothing is recorded as a sign-in
            return _expired()
        memo.commit_keeping()  # what is read next is what this request just wrote
        notices.flash_since_previous_sign_in(user, checked.recorded)
        left = checked.recorded.details.get("recovery_codes_left")  # an int: gate._record_success wrote it
        _after_sign_in(user, method, left if isinstance(left, int) else None)
        return redirect(next_url)
    if verdict.reason in (Reason.MALFORMED, Reason.LOCKED, Reason.WAIT):
        return refusal(template, verdict, method, **page())
    dropped = flow.record_failed_code(row)
    db.session.commit()
    log.info("second factor rejected", extra={"user_id": user.id, "reason": str(verdict.reason)})
    if dropped is None:  # the pending sign-in ended while the code was checked
        return _expired()
    if dropped:
        flow.remember_email(user.email)  # the sign-in page has it filled in again
        flash(_("Too many wrong codes. Sign in again with your password."), "warning")
        return redirect(url_for("auth.login"))
    form.code.errors = [verdict_message(verdict, method.kind)]
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
    kinds = {m.kind for m in factors.primary(user)}
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
    if method.primary or factors.is_on(user):  # two-step verification is on: the codes are the way back in
        count = remaining(user)
        if count <= LOW_WATER:
            flash(low_codes_warning(count), "warning")
