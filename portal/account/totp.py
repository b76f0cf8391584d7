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

from portal import factors, memo
from portal.account.new_codes import show_new_set
from portal.account.qr import qr_image
from portal.auth import flow
from portal.auth.fresh import fresh_auth_required
from portal.clock import now
from portal.extensions import db
from portal.factors import gate, totp
from portal.factors.base import Reason, canonical_digits
from portal.factors.forms import CodeForm
from portal.factors.messages import verdict_message
from portal.factors.recovery import has_set
from portal.factors.totp_codes import PERIOD, grouped, otpauth_uri
from portal.models import TotpFactor
from portal.responses import Page, refusal
from portal.security import client_ip

bp = Blueprint("totp", __name__, url_prefix="/account/2fa/totp")

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
    secret = totp.pending_secret(factor)
    issuer = totp.issuer_of(factor)  # fixed when the setup began, whatever language the page is in now
    uri = otpauth_uri(secret, current_user.email, issuer)
    return render_template(
        "account/totp_setup.html", form=form, qr=qr_image(uri), otpauth=uri, key=grouped(secret), period=PERIOD,
        issuer=issuer, replacing=totp.confirmed_factor(current_user) is not None,
    ), status


def _setup_page(form: CodeForm, status: int = 200) -> Page:
    """The pending setup again (a first one is made if it went); never a new one for a replacement."""
    db.session.commit()  # open_setup may roll back when a parallel request wins
    factor = totp.open_setup(current_user, now())[0]
    db.session.commit()
    if factor is None:
        return redirect(url_for("totp.setup"))
    return _render_setup(factor, form, status)


def _no_pending_setup(expired: bool) -> Page:
    """A confirmation arrived for a setup that is gone: expired, cancelled, or confirmed already."""
    if totp.confirmed_factor(current_user) is not None:
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
    factor, expired = totp.open_setup(current_user, now())
    memo.commit_keeping()  # the page shows what this request just read or made
    if factor is None and totp.confirmed_factor(current_user) is not None:
        if expired:
            flash(_replacement_expired_text(), "warning")
        return render_template("account/totp_manage.html", factor=totp.confirmed_factor(current_user),
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
    pending, expired = totp.live_pending(current_user, at)
    if pending is None:
        return _no_pending_setup(expired)
    form = CodeForm()
    if not form.validate_on_submit():
        _code_hint(form, _("Enter the 6 digits of the code."))
        return _setup_page(form, 400)
    code = canonical_digits(form.code.data or "")
    if code is None:
        form.code.errors = [*form.code.errors, _("Enter the 6 digits of the code.")]
        return _setup_page(form, 400)
    replacing = totp.confirmed_factor(current_user) is not None
    verdict = totp.confirm(current_user, code, at, ip=client_ip(), keep=flow.current_row())
    if verdict.reason is Reason.EXPIRED:
        db.session.rollback()  # another request confirmed (or cancelled) this setup first
        return _no_pending_setup(expired=False)
    if not verdict.ok:
        db.session.commit()  # a future step reported as clock skew is remembered
        form.code.errors = [*form.code.errors, verdict_message(verdict) if verdict.reason is not None else ""]
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
    if totp.pending_factor(current_user, now()) is None:
        # Security: only an existing setup is renewed here. A replacement starts at /replace, after a
        # current code; a first setup starts on the setup page (which also says when one expired).
        db.session.rollback()
        if totp.confirmed_factor(current_user) is not None:
            flash(_("Your authenticator app is already set up."), "info")
        return redirect(url_for("totp.setup"))
    db.session.commit()
    totp.start(current_user, now())
    db.session.commit()
    flash(_("A new key was created. Scan the new QR code; the old one will not work."), "info")
    return redirect(url_for("totp.setup"))


@bp.route("/cancel", methods=["POST"])
@fresh_auth_required
def cancel() -> Response:
    totp.cancel_pending(current_user)
    db.session.commit()
    return redirect(url_for("account.overview"))


def _current_code_refusal(form: CodeForm) -> Page | None:
    """Check a current code of the authenticator, or a recovery code, before it is replaced or removed."""
    factor = totp.confirmed_factor(current_user)
    manage = {"factor": factor, "form": form}
    if factor is None:
        return redirect(url_for("totp.setup"))
    if not form.validate_on_submit():
        _code_hint(form, _("Enter the 6 digits from your app, or a recovery code."))
        return render_template("account/totp_manage.html", **manage), 400
    raw = form.code.data or ""
    method = factors.get("totp") if canonical_digits(raw) else factors.get("recovery")
    checked = gate.check(method, current_user, raw, now=now(), ip=client_ip()) if method is not None else None
    if checked is None or checked.verdict.reason is Reason.MALFORMED:
        form.code.errors = [*form.code.errors, _("Enter the 6 digits from your app, or a recovery code.")]
        return render_template("account/totp_manage.html", **manage), 400
    if not checked.ok:
        db.session.commit()
        return refusal("account/totp_manage.html", checked.verdict, method, **manage)
    return None


@bp.route("/replace", methods=["POST"])
@fresh_auth_required
def replace() -> Page:
    refused = _current_code_refusal(CodeForm())
    if refused is not None:
        return refused
    db.session.commit()  # the code is spent and audited whatever happens next
    totp.start(current_user, now())
    db.session.commit()
    return redirect(url_for("totp.setup"))


@bp.route("/remove", methods=["POST"])
@fresh_auth_required
def remove() -> Page:
    refused = _current_code_refusal(CodeForm())
    if refused is not None:
        return refused
    totp.remove(current_user, ip=client_ip(), keep=flow.current_row())
    db.session.commit()
    flash(_("The authenticator app was removed. Signing in now needs only your password."), "warning")
    return redirect(url_for("account.overview"))
