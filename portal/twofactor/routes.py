"""The second step of signing in: choose a method, enter its code."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from portal import audit
from portal.auth import flow
from portal.clock import now
from portal.extensions import db
from portal.responses import locked_response, wait_response
from portal.security import client_ip, safe_next
from portal.twofactor import attempts, methods
from portal.twofactor.codes import canonical_digits
from portal.twofactor.forms import CodeForm
from portal.twofactor.messages import verdict_message

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
def verify() -> Response | str | tuple[str, int] | tuple[str, int, dict[str, str]]:
    user = flow.pending_user()
    row = flow.current_row()
    if user is None or row is None:
        return _expired()
    method = methods.get(request.args.get("method", ""))
    if method is None or not method.is_enrolled(user):
        abort(404)
    form = CodeForm()
    next_url = safe_next(request.args.get("next"))
    page = {"form": form, "method": method, "next_url": next_url, "others": len(methods.enrolled(user)) > 1}
    lockable = method.kind != "recovery"  # a recovery code is the way out of a lock
    if lockable and attempts.is_locked(user):
        return locked_response("twofactor/verify.html", **page)
    if not form.validate_on_submit():
        return render_template("twofactor/verify.html", **page), 400 if form.is_submitted() else 200
    code = canonical_digits(form.code.data or "")
    if code is None:
        form.code.errors.append(_("Enter the 6 digits of the code."))
        return render_template("twofactor/verify.html", **page), 400
    at = now()
    refusal = attempts.admit(user, at, ignore_lock=not lockable)
    db.session.commit()  # the attempt counts even if this request dies
    if refusal is not None and refusal.locked:
        return locked_response("twofactor/verify.html", **page)
    if refusal is not None:
        return wait_response("twofactor/verify.html", refusal.retry_at or at, **page)
    verdict = method.verify(user, code, now=at)
    if verdict.ok:
        attempts.reset(user)
        audit.record("signin.second_factor", actor=user, subject=user, ip=client_ip(), method=method.kind)
        flow.complete(row)
        db.session.commit()
        return redirect(next_url)
    dropped = flow.record_failed_code(row)
    db.session.commit()
    log.info("second factor rejected", extra={"user_id": user.id, "reason": str(verdict.reason)})
    if dropped:
        flash(_("Too many wrong codes. Sign in again with your password."), "warning")
        return redirect(url_for("auth.login"))
    form.code.errors.append(verdict_message(verdict))
    form.code.data = ""  # a refused code is no use in the box: the next attempt needs a new one
    return render_template("twofactor/verify.html", **page), 400
