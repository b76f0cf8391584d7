"""The second step of signing in: choose a method, enter its code."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from portal.auth import flow
from portal.clock import now
from portal.extensions import db
from portal.security import safe_next
from portal.twofactor import methods
from portal.twofactor.codes import canonical_digits
from portal.twofactor.forms import CodeForm

bp = Blueprint("twofactor", __name__, url_prefix="/2fa")
log = logging.getLogger("portal.twofactor")


def _expired() -> Response:
    flash(_("Your sign-in expired or was cancelled. Enter your password again."), "warning")
    return redirect(url_for("auth.login"))


@bp.route("", methods=["GET"])
@flow.second_step
def choose() -> Response | str:
    user = flow.pending_user()
    if user is None:
        return _expired()
    available = methods.enrolled(user)
    next_url = safe_next(request.args.get("next"))
    if len(available) == 1:
        return redirect(url_for("twofactor.verify", method=available[0].kind, next=next_url))
    return render_template("twofactor/choose.html", methods=available, next_url=next_url)


@bp.route("/verify", methods=["GET", "POST"])
@flow.second_step
def verify() -> Response | str | tuple[str, int]:
    user = flow.pending_user()
    row = flow.current_row()
    if user is None or row is None:
        return _expired()
    method = methods.get(request.args.get("method", ""))
    if method is None or not method.is_enrolled(user):
        abort(404)
    form = CodeForm()
    next_url = safe_next(request.args.get("next"))
    page = {"form": form, "method": method, "next_url": next_url}
    if not form.validate_on_submit():
        return render_template("twofactor/verify.html", **page), 400 if form.is_submitted() else 200
    code = canonical_digits(form.code.data or "")
    if code is None:
        form.code.errors.append(_("Enter the 6 digits of the code."))
        return render_template("twofactor/verify.html", **page), 400
    verdict = method.verify(user, code, now=now())
    if not verdict.ok:
        if flow.record_failed_code(row):
            db.session.commit()
            log.info("pending sign-in dropped after too many wrong codes", extra={"user_id": user.id})
            flash(_("Too many wrong codes. Sign in again with your password."), "warning")
            return redirect(url_for("auth.login"))
        db.session.commit()
        form.code.errors.append(_("That code is not correct. Try again."))
        return render_template("twofactor/verify.html", **page), 400
    flow.complete(row)
    db.session.commit()
    return redirect(next_url)
