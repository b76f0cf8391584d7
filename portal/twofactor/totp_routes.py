"""/account/2fa/totp: set up, replace or remove an authenticator app."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from portal import audit
from portal.auth.fresh import fresh_auth_required
from portal.clock import now
from portal.extensions import db
from portal.responses import locked_response, wait_response
from portal.security import client_ip
from portal.twofactor import attempts, methods, totp_enrollment
from portal.twofactor.codes import canonical_digits
from portal.twofactor.forms import CodeForm
from portal.twofactor.messages import verdict_message
from portal.twofactor.methods.recovery import has_set, remaining
from portal.twofactor.methods.totp import PERIOD, confirmed_factor, grouped, otpauth_uri
from portal.twofactor.qr import qr_image
from portal.twofactor.recovery_routes import show_new_set

bp = Blueprint("totp", __name__, url_prefix="/account/2fa/totp")

Page = Response | str | tuple[str, int] | tuple[str, int, dict[str, str]]


def _setup_page(form: CodeForm, status: int = 200) -> tuple[str, int]:
    at = now()
    factor = totp_enrollment.pending_factor(current_user, at) or totp_enrollment.start(current_user, at)
    db.session.commit()
    secret = totp_enrollment.pending_secret(factor)
    uri = otpauth_uri(secret, current_user.email, current_app.config["TOTP_ISSUER"])
    return render_template(
        "twofactor/totp_setup.html", form=form, qr=qr_image(uri), key=grouped(secret), period=PERIOD,
        issuer=current_app.config["TOTP_ISSUER"], replacing=confirmed_factor(current_user) is not None,
    ), status


@bp.route("", methods=["GET"])
@fresh_auth_required
def setup() -> Page:
    if confirmed_factor(current_user) is not None and totp_enrollment.pending_factor(current_user, now()) is None:
        return render_template("twofactor/totp_manage.html", factor=confirmed_factor(current_user),
                               form=CodeForm())
    return _setup_page(CodeForm())


@bp.route("", methods=["POST"])
@fresh_auth_required
def confirm() -> Page:
    form = CodeForm()
    if not form.validate_on_submit():
        return _setup_page(form, 400)
    code = canonical_digits(form.code.data or "")
    if code is None:
        form.code.errors.append(_("Enter the 6 digits of the code."))
        return _setup_page(form, 400)
    replacing = confirmed_factor(current_user) is not None
    verdict = totp_enrollment.confirm(current_user, code, now(), ip=client_ip())
    if not verdict.ok:
        db.session.commit()  # an expired setup was replaced: show the new key
        form.code.errors.append(verdict_message(verdict) if verdict.reason is not None else "")
        return _setup_page(form, 400)
    if not has_set(current_user):
        # The first second factor: recovery codes come with it, shown once, in this response.
        page = show_new_set(current_user, first=True)
        db.session.commit()
        return page
    db.session.commit()
    flash(_("Your new authenticator app is set up. The old one no longer works.") if replacing
          else _("Your authenticator app is set up. You will need a code from it each time you sign in."),
          "success")
    return redirect(url_for("account.overview"))


@bp.route("/restart", methods=["POST"])
@fresh_auth_required
def restart() -> Response:
    totp_enrollment.start(current_user, now())
    db.session.commit()
    flash(_("A new key was created. Scan the new QR code; the old one will not work."), "info")
    return redirect(url_for("totp.setup"))


@bp.route("/cancel", methods=["POST"])
@fresh_auth_required
def cancel() -> Response:
    totp_enrollment.cancel_pending(current_user)
    db.session.commit()
    return redirect(url_for("account.overview"))


def _current_code_refusal(form: CodeForm) -> Page | None:
    """Check a current code of the authenticator, or a recovery code, before it is replaced or removed."""
    factor = confirmed_factor(current_user)
    manage = {"factor": factor, "form": form}
    if factor is None:
        return redirect(url_for("totp.setup"))
    if not form.validate_on_submit():
        return render_template("twofactor/totp_manage.html", **manage), 400
    raw = form.code.data or ""
    method = methods.get("totp") if canonical_digits(raw) else methods.get("recovery")
    code = method.canonical(raw) if method is not None else None
    if method is None or code is None:
        form.code.errors.append(_("Enter the 6 digits from your app, or a recovery code."))
        return render_template("twofactor/totp_manage.html", **manage), 400
    at = now()
    refusal = attempts.admit(current_user, at, ignore_lock=not method.primary)
    db.session.commit()
    if refusal is not None and refusal.locked:
        return locked_response("twofactor/totp_manage.html", **manage)
    if refusal is not None:
        return wait_response("twofactor/totp_manage.html", refusal.retry_at or at, **manage)
    verdict = method.verify(current_user, code, now=at)
    if not verdict.ok:
        db.session.commit()
        form.code.errors.append(verdict_message(verdict))
        return render_template("twofactor/totp_manage.html", **manage), 400
    attempts.reset(current_user)
    if not method.primary:
        audit.record("recovery.used", actor=current_user, subject=current_user, ip=client_ip(),
                     method="recovery", recovery_codes_left=remaining(current_user))
    return None


@bp.route("/replace", methods=["POST"])
@fresh_auth_required
def replace() -> Page:
    refusal = _current_code_refusal(CodeForm())
    if refusal is not None:
        return refusal
    totp_enrollment.start(current_user, now())
    db.session.commit()
    return redirect(url_for("totp.setup"))


@bp.route("/remove", methods=["POST"])
@fresh_auth_required
def remove() -> Page:
    refusal = _current_code_refusal(CodeForm())
    if refusal is not None:
        return refusal
    totp_enrollment.remove(current_user, ip=client_ip())
    db.session.commit()
    flash(_("The authenticator app was removed. Signing in now needs only your password."), "warning")
    return redirect(url_for("account.overview"))
