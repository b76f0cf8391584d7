"""Register, sign in (the password step), confirm the password again, sign out."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from portal import audit, factors, notices
from portal.auth import flow, throttle
from portal.auth.forms import LoginForm, PostForm, ReauthForm, RegisterForm
from portal.auth.passwords import canonical_email, password_problems
from portal.clock import now
from portal.crypto import passwords
from portal.events import Event
from portal.extensions import db, limiter
from portal.i18n import sentence_gap
from portal.models import User
from portal.responses import refusal
from portal.security import client_ip, safe_next

bp = Blueprint("auth", __name__)
log = logging.getLogger("portal.auth")


def _login_limit() -> str:
    limit: str = current_app.config["RATELIMIT_LOGIN"]
    return limit


def _register_limit() -> str:
    limit: str = current_app.config["RATELIMIT_REGISTER"]
    return limit


def _slowing_down(email: str) -> str:
    """After a wrong password: from the last attempt before the delays on, a sentence saying more will slow
    signing in (the delays themselves say how long to wait); else nothing."""
    if throttle.failures(email) < current_app.config["LOGIN_FREE_FAILURES"] - 1:
        return ""
    return sentence_gap() + _("More wrong passwords will slow down signing in: after each one you will have to "
                              "wait longer before you can try again.")


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_register_limit, methods=["POST"])
def register() -> Response | str | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("account.overview"))
    form = RegisterForm()
    if not form.is_submitted():
        return render_template("auth/register.html", form=form)
    # Every problem is told at once: the form's own checks, the address, and the password policy.
    valid = form.validate_on_submit()
    email = canonical_email(form.email.data or "")
    if email is None and not form.email.errors:
        form.email.errors = [*form.email.errors, _("Enter a valid email address, like name@example.com.")]
    if form.password.data and not form.password.errors:
        form.password.errors = [*form.password.errors, *password_problems(form.password.data, email)]
    if not valid or email is None or form.password.errors:
        return render_template("auth/register.html", form=form), 400
    user = User(email=email, password_hash=passwords().hash(form.password.data or ""),
                is_admin=False, created_at=now())
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        form.email.errors = [*form.email.errors,
                             _("An account with this email address already exists. Sign in instead.")]
        return render_template("auth/register.html", form=form), 400
    flow.begin(user, needs_second_factor=False, remember=False)
    db.session.commit()
    log.info("account created", extra={"user_id": user.id})
    flash(_("Your account is ready. Next, set up two-step verification."), "success")
    return redirect(url_for("account.overview"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login() -> Response | str | tuple[str, int] | tuple[str, int, dict[str, str]]:
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm()
    if not form.is_submitted():
        form.email.data = flow.remembered_email()  # after a sign-in that ended for too many wrong codes
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form), 400 if form.is_submitted() else 200
    typed = (form.email.data or "").strip()
    canonical = canonical_email(typed)
    email = canonical or typed.lower()  # the throttle key: only its keyed hash is stored
    waiting = throttle.count_attempt(email, now())
    db.session.commit()  # the attempt counts even if this request dies; no row lock held while hashing
    if waiting is not None:
        return refusal("auth/login.html", waiting, form=form)
    # Security: only a valid address reaches a query (a NUL byte would make PostgreSQL fail).
    user = db.session.scalar(select(User).where(User.email == canonical)) if canonical else None
    password = form.password.data or ""
    # Security: unknown email and wrong password take the same path, cost and answer (no enumeration).
    if not passwords().verify(user.password_hash if user else None, password) or user is None:
        log.info("password rejected")
        # Security: a row for an unknown address too (named by its keyed hash only), so both cost the same.
        audit.record(Event.SIGNIN_PASSWORD_FAILED, actor=None, subject=user, ip=client_ip(),
                     email_key=throttle.throttle_key(email)[:16])
        db.session.commit()
        return render_template("auth/login.html", form=form, error=_("The email address or password is incorrect.")
                               + _slowing_down(email)), 400
    if passwords().needs_rehash(user.password_hash):
        user.password_hash = passwords().hash(password)
    throttle.reset(email)
    needs_second = factors.is_on(user)
    flow.begin(user, needs_second_factor=needs_second, remember=bool(form.remember.data))
    signed_in = None if needs_second else audit.record(Event.SIGNIN_PASSWORD, actor=user, subject=user,
                                                       ip=client_ip())
    db.session.commit()
    target = safe_next(request.args.get("next"))
    if signed_in is None:
        return redirect(url_for("signin.choose", next=target))
    notices.flash_since_previous_sign_in(user, signed_in)
    return redirect(target)


@bp.route("/reauth", methods=["GET", "POST"])
@login_required
@limiter.limit(_login_limit, methods=["POST"])
def reauth() -> Response | str | tuple[str, int] | tuple[str, int, dict[str, str]]:
    form = ReauthForm()
    if not form.validate_on_submit():
        return render_template("auth/reauth.html", form=form), 400 if form.is_submitted() else 200
    waiting = throttle.count_attempt(current_user.email, now())
    db.session.commit()
    if waiting is not None:
        return refusal("auth/reauth.html", waiting, form=form)
    # Security: a stolen session is no password oracle; attempts share the sign-in throttle.
    if not passwords().verify(current_user.password_hash, form.password.data or ""):
        return render_template("auth/reauth.html", form=form,
                               error=_("That password is incorrect.") + _slowing_down(current_user.email)), 400
    throttle.reset(current_user.email)
    row = flow.current_row()
    if row is None or not flow.confirm_password(row):  # signed out from elsewhere while the password was checked
        db.session.rollback()
        return redirect(url_for("auth.login"))
    db.session.commit()
    return redirect(safe_next(request.args.get("next")))


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    form = PostForm()
    if form.validate_on_submit():
        flow.end()
        db.session.commit()
        flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))
