"""/account/2fa/sms: add, confirm, change or remove the phone that receives sign-in codes."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from portal import countries
from portal.account.new_codes import show_new_set
from portal.auth import flow
from portal.auth.fresh import fresh_auth_required
from portal.clock import now
from portal.extensions import db
from portal.factors import gate, sms
from portal.factors.base import Verdict
from portal.factors.forms import CodeForm, PhoneForm
from portal.factors.recovery import has_set
from portal.i18n import current_language
from portal.phone import PhoneProblem, mask, parse, readable
from portal.responses import Page, refusal
from portal.security import client_ip
from portal.sms import send_limit
from portal.sms.base import SmsError

bp = Blueprint("sms", __name__, url_prefix="/account/2fa/sms")


def country_choices() -> list[tuple[str, str]]:
    """(code, "China (+86)") for every region: alphabetical in English, in pinyin order in Chinese."""
    return countries.choices(get_locale())


def _phone_page(form: PhoneForm, status: int = 200, refused: SmsError | None = None) -> Page:
    form.country.choices = country_choices()
    if not form.country.data:
        form.country.data = current_app.config["SMS_DEFAULT_REGION"]
    confirmed = sms.confirmed_phone(current_user)
    page = {"form": form, "confirmed": confirmed, "remove_form": CodeForm(),
            "confirmed_phone": mask(confirmed.phone) if confirmed else None}
    if refused is not None:
        return refusal("account/sms_setup.html", refused, **page)
    return render_template("account/sms_setup.html", **page), status


def _confirm_page(form: CodeForm, status: int = 200, refused: Verdict | SmsError | None = None) -> Page:
    factor = sms.pending_phone(current_user)
    if factor is None:
        return redirect(url_for("sms.setup"))
    # The person who just typed the number sees all of it, to catch a typo: a session that proved the password
    # within FRESH_AUTH_SECONDS (adding a number needs that). Any other session, and every other page, masks it.
    shown = readable(factor.phone) if flow.is_fresh(flow.current_row()) else mask(factor.phone)
    page = {"form": form, **sms.countdown(factor, now()), "phone": shown}
    if refused is not None:
        return refusal("account/sms_confirm.html", refused, sms.PendingPhone(), **page)
    return render_template("account/sms_confirm.html", **page), status


def _text_pending_number(ip: str) -> Verdict | SmsError:
    """Text the pending number its code: OK, a COOLDOWN or THROTTLED verdict, or the provider's fault."""
    try:
        return sms.PendingPhone(ip=ip, keep=None).challenge(current_user, now=now(), language=current_language(),
                                                            ip=ip)
    except SmsError as error:
        return error


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
        form.phone.errors = [*form.phone.errors, parsed.message]
        return _phone_page(form, 400)
    sms.start(current_user, parsed, now())
    sent = _text_pending_number(client_ip())
    if isinstance(sent, SmsError):
        sms.cancel_pending(current_user)  # nothing half-written: no code went out
        db.session.commit()
        return _phone_page(form, refused=sent)
    if not sent.ok:
        db.session.commit()  # the number stays pending, so the page's "Send code" texts the number it names
        return _confirm_page(CodeForm(formdata=None), refused=sent)
    return redirect(url_for("sms.confirm_form"))  # its paragraph says where the code went


@bp.route("/confirm", methods=["GET"])
@login_required
def confirm_form() -> Page:
    return _confirm_page(CodeForm())


@bp.route("/confirm", methods=["POST"])
@login_required
def confirm() -> Page:
    form = CodeForm()
    if sms.pending_phone(current_user) is None:
        flash(_("Enter your mobile number again: that setup is no longer open."), "warning")
        return redirect(url_for("sms.setup"))
    if not form.validate_on_submit():
        return _confirm_page(form, 400)
    replacing = sms.confirmed_phone(current_user) is not None
    pending = sms.PendingPhone(ip=client_ip(), keep=flow.current_row())
    try:
        checked = gate.check(pending, current_user, form.code.data or "", now=now(), ip=client_ip())
    except SmsError as error:
        return _confirm_page(form, refused=error)
    if not checked.ok:
        db.session.commit()
        return _confirm_page(form, refused=checked.verdict)
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
    factor = sms.pending_phone(current_user)
    if factor is None:
        return redirect(url_for("sms.setup"))
    sent = _text_pending_number(client_ip())
    if not isinstance(sent, Verdict) or not sent.ok:
        return _confirm_page(CodeForm(formdata=None), refused=sent)
    flash(_("Enter the code from the newest text message."), "info")  # the page says where it went
    return redirect(url_for("sms.confirm_form"))


@bp.route("/cancel", methods=["POST"])
@login_required
def cancel() -> Response:
    sms.cancel_pending(current_user)
    db.session.commit()
    return redirect(url_for("account.overview"))


@bp.route("/remove", methods=["POST"])
@fresh_auth_required
def remove() -> Page:
    if sms.confirmed_phone(current_user) is None:
        return redirect(url_for("sms.setup"))
    sms.remove(current_user, ip=client_ip(), keep=flow.current_row())
    db.session.commit()
    flash(_("Your phone was removed. Sign-in codes are no longer sent to it."), "warning")
    return redirect(url_for("account.overview"))
