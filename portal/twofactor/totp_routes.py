"""/account/2fa/totp: set up, replace or remove an authenticator app.

Security: a new secret appears only for a first authenticator (the setup page), or after a current code
or a recovery code (replace). Confirm and restart never start a replacement by themselves.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.wrappers import Response

from portal import audit, mail, memo
from portal.auth import flow
from portal.auth.fresh import fresh_auth_required
from portal.clock import now
from portal.extensions import db
from portal.models import TotpFactor
from portal.responses import locked_response, wait_response
from portal.security import client_ip
from portal.twofactor import attempts, methods, totp_enrollment
from portal.twofactor.codes import canonical_digits
from portal.twofactor.forms import CodeForm
from portal.twofactor.messages import verdict_message
from portal.twofactor.methods.base import Reason
from portal.twofactor.methods.recovery import has_set, remaining
from portal.twofactor.methods.totp import PERIOD, confirmed_factor, grouped, otpauth_uri
from portal.twofactor.qr import qr_image
from portal.twofactor.recovery_routes import show_new_set

bp = Blueprint("totp", __name__, url_prefix="/account/2fa/totp")

Page = Response | str | tuple[str, int] | tuple[str, int, dict[str, str]]


def _expired_text() -> str:
    minutes = max(1, current_app.config["TOTP_ENROLL_TTL"] // 60)
    return ngettext("This setup expired after %(num)d minute. Delete the entry you added for this site in your "
                    "authenticator app, then scan the new QR code below.",
                    "This setup expired after %(num)d minutes. Delete the entry you added for this site in your "
                    "authenticator app, then scan the new QR code below.", minutes)


def _replacement_expired_text() -> str:
    return _("The setup of your new authenticator app expired. Delete the entry you added for it in the app; "
             "your current entry still works. To start again, enter a current code below.")


def _code_hint(form: CodeForm, hint: str) -> None:
    """Say what a code looks like instead of WTForms' "Field cannot be longer than 64 characters."."""
    if form.code.data and form.code.errors:  # a filled-in code fails only on its length
        form.code.errors = [hint]


def _render_setup(factor: TotpFactor, form: CodeForm, status: int) -> tuple[str, int]:
    secret = totp_enrollment.pending_secret(factor)
    uri = otpauth_uri(secret, current_user.email, current_app.config["TOTP_ISSUER"])
    return render_template(
        "twofactor/totp_setup.html", form=form, qr=qr_image(uri), key=grouped(secret), period=PERIOD,
        issuer=current_app.config["TOTP_ISSUER"], replacing=confirmed_factor(current_user) is not None,
    ), status


def _setup_page(form: CodeForm, status: int = 200) -> Page:
    """The pending setup again (a first one is made if it went); never a new one for a replacement."""
    db.session.commit()  # open_setup may roll back when a parallel request wins
    factor = totp_enrollment.open_setup(current_user, now())[0]
    db.session.commit()
    if factor is None:
        return redirect(url_for("totp.setup"))
    return _render_setup(factor, form, status)


def _no_pending_setup(expired: bool) -> Page:
    """A confirmation arrived for a setup that is gone: expired, cancelled, or confirmed already."""
    if confirmed_factor(current_user) is not None:
        db.session.commit()  # the expired replacement is deleted
        if expired:
            flash(_replacement_expired_text(), "warning")
            return redirect(url_for("totp.setup"))
        # Security: a repeated or racing confirmation (or a stolen session) must not start a new setup.
        flash(_("Your authenticator app is already set up."), "info")
        return redirect(url_for("account.overview"))
    form = CodeForm()
    form.code.errors = [_expired_text() if expired else
                        _("This setup was cancelled or replaced in another window. Scan the new QR code below "
                          "and enter the code it shows.")]
    form.code.data = ""
    return _setup_page(form, 400)


@bp.route("", methods=["GET"])
@fresh_auth_required
def setup() -> Page:
    factor, expired = totp_enrollment.open_setup(current_user, now())
    memo.commit_keeping()  # the page shows what this request just read or made
    if factor is None and confirmed_factor(current_user) is not None:
        if expired:
            flash(_replacement_expired_text(), "warning")
        return render_template("twofactor/totp_manage.html", factor=confirmed_factor(current_user),
                               form=CodeForm())
    if factor is None:  # made and removed again by other requests in between: look again
        return redirect(url_for("totp.setup"))
    if expired:
        flash(_expired_text(), "warning")
    return _render_setup(factor, CodeForm(), 200)


@bp.route("", methods=["POST"])
@fresh_auth_required
def confirm() -> Page:
    at = now()
    pending, expired = totp_enrollment.live_pending(current_user, at)
    if pending is None:
        return _no_pending_setup(expired)
    form = CodeForm()
    if not form.validate_on_submit():
        _code_hint(form, _("Enter the 6 digits of the code."))
        return _setup_page(form, 400)
    code = canonical_digits(form.code.data or "")
    if code is None:
        form.code.errors.append(_("Enter the 6 digits of the code."))
        return _setup_page(form, 400)
    replacing = confirmed_factor(current_user) is not None
    verdict = totp_enrollment.confirm(current_user, code, at, ip=client_ip(), keep=flow.current_row())
    if verdict.reason is Reason.EXPIRED:
        db.session.rollback()  # another request confirmed (or cancelled) this setup first
        return _no_pending_setup(expired=False)
    if not verdict.ok:
        db.session.commit()  # a future step reported as clock skew is remembered
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
    if totp_enrollment.pending_factor(current_user, now()) is None:
        # Security: only an existing setup is renewed here. A replacement starts at /replace, after a
        # current code; a first setup starts on the setup page (which also says when one expired).
        db.session.rollback()
        if confirmed_factor(current_user) is not None:
            flash(_("Your authenticator app is already set up."), "info")
        return redirect(url_for("totp.setup"))
    db.session.commit()
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
        _code_hint(form, _("Enter the 6 digits from your app, or a recovery code."))
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
        form.code.errors.append(verdict_message(verdict, method.kind))
        return render_template("twofactor/totp_manage.html", **manage), 400
    attempts.reset(current_user)
    if not method.primary:
        mail.notify(current_user.email, "recovery.used", ip=client_ip())
        audit.record("recovery.used", actor=current_user, subject=current_user, ip=client_ip(),
                     method="recovery", recovery_codes_left=remaining(current_user))
    return None


@bp.route("/replace", methods=["POST"])
@fresh_auth_required
def replace() -> Page:
    refusal = _current_code_refusal(CodeForm())
    if refusal is not None:
        return refusal
    db.session.commit()  # the code is spent and audited whatever happens next
    totp_enrollment.start(current_user, now())
    db.session.commit()
    return redirect(url_for("totp.setup"))


@bp.route("/remove", methods=["POST"])
@fresh_auth_required
def remove() -> Page:
    refusal = _current_code_refusal(CodeForm())
    if refusal is not None:
        return refusal
    totp_enrollment.remove(current_user, ip=client_ip(), keep=flow.current_row())
    db.session.commit()
    flash(_("The authenticator app was removed. Signing in now needs only your password."), "warning")
    return redirect(url_for("account.overview"))
