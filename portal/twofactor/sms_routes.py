"""/account/2fa/sms: add, confirm, change or remove the phone that receives sign-in codes."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from portal.auth import flow
from portal.auth.fresh import fresh_auth_required
from portal.clock import now
from portal.extensions import db
from portal.i18n import current_language
from portal.phone import PhoneProblem, mask, parse, regions
from portal.responses import locked_response, wait_response
from portal.security import client_ip
from portal.sms import delivery, send_limit
from portal.sms.base import Purpose, SmsError, http_status, retry_after
from portal.sms.messages import fault_message, seconds_until, wait_message
from portal.twofactor import attempts, sms_enrollment
from portal.twofactor.codes import canonical_digits
from portal.twofactor.forms import CodeForm, PhoneForm
from portal.twofactor.messages import verdict_message
from portal.twofactor.methods.recovery import has_set
from portal.twofactor.methods.sms import confirmed_phone, countdown
from portal.twofactor.recovery_routes import show_new_set

bp = Blueprint("sms", __name__, url_prefix="/account/2fa/sms")

Page = Response | str | tuple[str, int] | tuple[str, int, dict[str, str]]


def country_choices() -> list[tuple[str, str]]:
    """(code, "China (+86)") for every region, sorted by the name in the page's language."""
    import phonenumbers

    names = get_locale().territories if get_locale() is not None else {}
    choices = [(code, f"{names.get(code, code)} (+{phonenumbers.country_code_for_region(code)})")
               for code in regions() if code != "001"]
    return sorted(choices, key=lambda c: c[1])


def _phone_page(form: PhoneForm, status: int = 200, error: str | None = None,
                headers: dict[str, str] | None = None) -> Page:
    form.country.choices = country_choices()
    if not form.country.data:
        form.country.data = current_app.config["SMS_DEFAULT_REGION"]
    confirmed = confirmed_phone(current_user)
    html = render_template("twofactor/sms_setup.html", form=form, error=error, confirmed=confirmed,
                           confirmed_phone=mask(confirmed.phone) if confirmed else None, remove_form=CodeForm())
    return (html, status, headers) if headers else (html, status)


def _confirm_page(form: CodeForm, status: int = 200, error: str | None = None,
                  headers: dict[str, str] | None = None) -> Page:
    factor = sms_enrollment.pending_phone(current_user)
    if factor is None:
        return redirect(url_for("sms.setup"))
    html = render_template("twofactor/sms_confirm.html", form=form, error=error,
                           **countdown(factor, now()))
    return (html, status, headers) if headers else (html, status)


def _refused(error: SmsError, page: Page) -> Page:
    """Answer a provider fault: its message, 429 (with Retry-After) or 503."""
    html = page[0] if isinstance(page, tuple) else page
    wait = retry_after(error)
    return (html, http_status(error), {"Retry-After": str(wait)}) if wait else (html, http_status(error))


@bp.route("", methods=["GET"])
@fresh_auth_required
def setup() -> Page:
    return _phone_page(PhoneForm())


@bp.route("", methods=["POST"])
@fresh_auth_required
@send_limit
def add() -> Page:
    """Check the number, keep it pending, text it a code. The confirmed number keeps working meanwhile."""
    form = PhoneForm()
    form.country.choices = country_choices()
    if not form.validate_on_submit():
        return _phone_page(form, 400)
    region = form.country.data or current_app.config["SMS_DEFAULT_REGION"]
    parsed = parse(form.phone.data or "", region, current_app.config["SMS_ALLOWED_COUNTRIES"])
    if isinstance(parsed, PhoneProblem):
        form.phone.errors.append(parsed.message)
        return _phone_page(form, 400)
    at = now()
    factor = sms_enrollment.start(current_user, parsed, at)
    try:
        wait = delivery.send(factor, Purpose.ENROLL, language=current_language(), now=at, ip=client_ip())
    except SmsError as error:
        sms_enrollment.cancel_pending(current_user)  # nothing half-written: no code went out
        db.session.commit()
        return _refused(error, _phone_page(form, error=fault_message(error)))
    if wait is not None:
        db.session.commit()  # the number stays pending, so the page's "Send code" texts the number it names
        seconds = seconds_until(wait.retry_at, at)
        return _confirm_page(CodeForm(formdata=None), 429, wait_message(wait, at), {"Retry-After": str(seconds)})
    flash(_("We sent a code to %(phone)s.", phone=mask(parsed)), "info")
    return redirect(url_for("sms.confirm_form"))


@bp.route("/confirm", methods=["GET"])
@login_required
def confirm_form() -> Page:
    return _confirm_page(CodeForm())


@bp.route("/confirm", methods=["POST"])
@login_required
def confirm() -> Page:
    form = CodeForm()
    if sms_enrollment.pending_phone(current_user) is None:
        flash(_("Enter your mobile number again: that setup is no longer open."), "warning")
        return redirect(url_for("sms.setup"))
    if not form.validate_on_submit():
        return _confirm_page(form, 400)
    code = canonical_digits(form.code.data or "")
    if code is None:
        form.code.errors.append(_("Enter the 6 digits of the code."))
        return _confirm_page(form, 400)
    at = now()
    refusal = attempts.admit(current_user, at)
    db.session.commit()
    if refusal is not None and refusal.locked:
        return locked_response("twofactor/sms_confirm.html", form=form, **countdown(
            sms_enrollment.pending_phone(current_user), at))  # type: ignore[arg-type]
    if refusal is not None:
        return wait_response("twofactor/sms_confirm.html", refusal.retry_at or at, form=form,
                             **countdown(sms_enrollment.pending_phone(current_user), at))  # type: ignore[arg-type]
    replacing = confirmed_phone(current_user) is not None
    try:
        verdict = sms_enrollment.confirm(current_user, code, at, ip=client_ip(), keep=flow.current_row())
    except SmsError as error:
        db.session.rollback()
        return _refused(error, _confirm_page(form, error=fault_message(error)))
    if not verdict.ok:
        db.session.commit()
        form.code.errors.append(verdict_message(verdict, "sms"))
        form.code.data = ""
        return _confirm_page(form, 400)
    attempts.reset(current_user)
    if not has_set(current_user):
        page = show_new_set(current_user, first=True)  # the first second factor: recovery codes, shown once
        db.session.commit()
        return page
    db.session.commit()
    flash(_("Your new number is confirmed. Codes now go to it; the old number no longer gets them.") if replacing
          else _("Your phone is confirmed. You can now sign in with a code sent to it."), "success")
    return redirect(url_for("account.overview"))


@bp.route("/resend", methods=["POST"])
@login_required
@send_limit
def resend() -> Page:
    """Text the pending number a new code (the previous one stops working), unless the cooldown says wait."""
    factor = sms_enrollment.pending_phone(current_user)
    if factor is None:
        return redirect(url_for("sms.setup"))
    at = now()
    try:
        wait = delivery.send(factor, Purpose.ENROLL, language=current_language(), now=at, ip=client_ip())
    except SmsError as error:
        return _refused(error, _confirm_page(CodeForm(formdata=None), error=fault_message(error)))
    if wait is not None:
        return _confirm_page(CodeForm(formdata=None), 429, wait_message(wait, at),
                             {"Retry-After": str(seconds_until(wait.retry_at, at))})
    flash(_("We sent a new code to %(phone)s. Enter the code from the newest text.", phone=mask(factor.phone)),
          "info")
    return redirect(url_for("sms.confirm_form"))


@bp.route("/cancel", methods=["POST"])
@login_required
def cancel() -> Response:
    sms_enrollment.cancel_pending(current_user)
    db.session.commit()
    return redirect(url_for("account.overview"))


@bp.route("/remove", methods=["POST"])
@fresh_auth_required
def remove() -> Page:
    if confirmed_phone(current_user) is None:
        return redirect(url_for("sms.setup"))
    sms_enrollment.remove(current_user, ip=client_ip(), keep=flow.current_row())
    db.session.commit()
    flash(_("Your phone was removed. Sign-in codes are no longer sent to it."), "warning")
    return redirect(url_for("account.overview"))
