"""/admin/users: search users, inspect one, and disable their 2FA after a recorded identity check."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from portal import activity
from portal.admin import bp, held_formdata, queries
from portal.admin.common import already_off, disabled, page_number, query_text
from portal.admin.forms import DisableForm
from portal.admin.operations import (
    Actor,
    IdentityCheck,
    Outcome,
    disable_two_factor,
    has_two_factor,
    identity_problems,
    pending_request,
    request_disable,
)
from portal.extensions import db
from portal.models import AdminRequest, User
from portal.responses import Page
from portal.security import client_ip


@bp.route("")
def index() -> Response:
    return redirect(url_for("admin.users"))


@bp.route("/users")
def users() -> str:
    q = query_text("q", 320)
    page = page_number()
    found, more = queries.users_matching(q, page)
    return render_template("admin/users.html", q=q, users=found, page=page, more=more,
                           substring_min=queries.SUBSTRING_MIN,
                           summaries=queries.summaries(found), lock_at=current_app.config["SECOND_FACTOR_LOCK_AT"])


def _target(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/users/<int(max=2147483647):user_id>")
def user(user_id: int) -> str:
    target = _target(user_id)
    return render_template("admin/user.html", target=target, summary=queries.summaries([target])[target.id],
                           events=activity.recent(target, limit=20), has_two_factor=has_two_factor(target),
                           pending=pending_request(target),
                           lock_at=current_app.config["SECOND_FACTOR_LOCK_AT"])


def _second_admin_required() -> bool:
    return bool(current_app.config["ADMIN_DISABLE_REQUIRES_SECOND_ADMIN"])


@bp.route("/users/<int(max=2147483647):user_id>/disable-2fa", methods=["GET", "POST"])
def disable(user_id: int) -> Page:
    target = _target(user_id)
    # After the step-up, the fields come back as the admin typed them (held_formdata), with a fresh CSRF token.
    kept = held_formdata(request.path)
    form = DisableForm() if kept is None else DisableForm(formdata=kept)
    page = {"target": target, "form": form, "own": target.id == current_user.id,
            "has_two_factor": has_two_factor(target), "needs_approval": _second_admin_required(),
            "pending": pending_request(target)}
    if page["own"]:
        # Security: nobody turns off their own second factor through the support process.
        return render_template("admin/disable.html", error=_("You cannot use the admin pages on your own account."),
                               **page), 403
    if request.method != "POST":
        return render_template("admin/disable.html", **page)
    form.validate()  # the token, and the caps on lengths
    identity = IdentityCheck(form.identity_check.data or "", (form.case_reference.data or "").strip(),
                             (form.notes.data or "").strip())
    if _mark_problems(form, identity, target):
        return render_template("admin/disable.html", **page), 400
    actor = Actor(user=current_user, ip=client_ip())
    if page["needs_approval"]:
        return _requested(target, *request_disable(target, identity, actor))
    outcome = disable_two_factor(target, identity, actor)
    if outcome is not Outcome.DONE:
        db.session.rollback()
        return already_off(target)
    db.session.commit()
    return disabled(target, identity.case_reference)


def _mark_problems(form: DisableForm, identity: IdentityCheck, target: User) -> bool:
    """Put every problem of the submitted form under its field, all at once; whether there was any."""
    problems = identity_problems(identity)
    typed = (form.confirm_email.data or "").strip().lower()
    if not typed:
        problems["confirm_email"] = _("Type the user's email address.")
    elif typed != target.email:
        problems["confirm_email"] = _("The email address you typed is not this user's.")
    for name, problem in problems.items():
        field = form[name]
        if not field.errors:  # a cap's error already says what is wrong
            field.errors = [problem]
    return bool(form.errors)


def _requested(target: User, outcome: Outcome, request_row: AdminRequest | None) -> Response:
    if outcome is Outcome.REQUESTED and request_row is not None:
        db.session.commit()
        flash(_("Your request is recorded. Two-step verification of %(email)s stays on until a different admin "
                "approves it.", email=target.email), "success")
        return redirect(url_for("admin.request_detail", request_id=request_row.id))
    db.session.rollback()
    if outcome is Outcome.PENDING:
        flash(_("A request for this user already waits for approval: nothing new was recorded."), "info")
        pending = pending_request(target)
        if pending is not None:
            return redirect(url_for("admin.request_detail", request_id=pending.id))
        return redirect(url_for("admin.user", user_id=target.id))
    return already_off(target)
