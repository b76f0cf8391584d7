"""/admin: find users, disable their 2FA after a recorded identity check, read the audit log.

Security: every view is behind _guard (admins only, with a second factor of their own); every POST but
the confirmation itself needs the password and a second factor proved within FRESH_AUTH_SECONDS.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.account import activity
from portal.admin import queries
from portal.admin.forms import ConfirmForm, DecideForm, DisableForm
from portal.admin.operations import (
    IDENTITY_CHECKS,
    REFERENCE_MAX,
    REQUEST_STATUSES,
    Actor,
    IdentityCheck,
    Outcome,
    approve_request,
    close_obsolete_request,
    disable_two_factor,
    has_two_factor,
    identity_problem,
    pending_request,
    reject_request,
    request_disable,
    status_of,
)
from portal.auth import flow, throttle
from portal.clock import as_utc, now
from portal.crypto import passwords
from portal.extensions import db, login_manager
from portal.models import AdminRequest, AuditEvent, User
from portal.responses import locked_response, wait_response
from portal.security import client_ip, safe_next
from portal.sms import send_limit
from portal.twofactor import attempts, methods
from portal.twofactor.methods.base import Method
from portal.twofactor.methods.sms import SmsMethod
from portal.twofactor.sms_signin import text_code

bp = Blueprint("admin", __name__, url_prefix="/admin")
Page = Response | str | tuple[str, int] | tuple[str, int, dict[str, str]]
CONFIRM_ENDPOINTS = frozenset({"admin.confirm", "admin.confirm_send"})


@bp.before_request
def _guard() -> Response | None:
    if not current_user.is_authenticated:
        return login_manager.unauthorized()  # type: ignore[no-any-return]
    if not current_user.is_admin:
        abort(403)
    if not methods.is_on(current_user):
        flash(_("Set up two-step verification for your own account before you use the admin pages."), "warning")
        return redirect(url_for("account.overview"))
    if request.method == "POST" and request.endpoint not in CONFIRM_ENDPOINTS \
            and not flow.is_fresh_with_factor(flow.current_row()):
        # Security: a stolen admin session (or one left open) cannot act without the password and a code.
        return redirect(url_for("admin.confirm", next=_page_of_post()))
    return None


@bp.context_processor
def _admin_context() -> dict[str, object]:
    return {"request_status": lambda row: REQUEST_STATUSES[status_of(row)],
            # Called by _nav.html only: error pages (a database outage, say) never query for it.
            "pending_requests": queries.pending_count}


def _page_of_post() -> str:
    """Where to return after the confirmation: the POST's own URL if it has a page, else the page its form is on."""
    rule = request.url_rule
    if rule is not None and rule.methods is not None and "GET" in rule.methods:
        return request.path
    if request.view_args and "request_id" in request.view_args:
        return url_for("admin.request_detail", request_id=request.view_args["request_id"])
    return url_for("admin.users")


@bp.route("")
def index() -> Response:
    return redirect(url_for("admin.users"))


def _arg(name: str, longest: int) -> str:
    """A query parameter as searchable text: control characters (NUL breaks PostgreSQL) dropped, capped."""
    return flow.printable(request.args.get(name, ""))[:longest]


def _page_number() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < int(raw) <= 100_000 else 1


@bp.route("/users")
def users() -> str:
    q = _arg("q", 320)
    page = _page_number()
    found, more = queries.search_users(q, page)
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
    form = DisableForm()
    page = {"target": target, "form": form, "own": target.id == current_user.id,
            "has_two_factor": has_two_factor(target), "needs_approval": _second_admin_required(),
            "pending": pending_request(target)}
    if page["own"]:
        # Security: nobody turns off their own second factor through the support process.
        return render_template("admin/disable.html", error=_("You cannot use the admin pages on your own account."),
                               **page), 403
    if not form.validate_on_submit():
        return render_template("admin/disable.html", **page), 400 if form.is_submitted() else 200
    identity = IdentityCheck(form.identity_check.data or "", (form.case_reference.data or "").strip(),
                             (form.notes.data or "").strip())
    problem = identity_problem(identity)
    if problem is None and (form.confirm_email.data or "").strip().lower() != target.email:
        problem = _("The email address you typed is not this user's.")
    if problem is not None:
        return render_template("admin/disable.html", error=problem, **page), 400
    actor = Actor(user=current_user, ip=client_ip())
    if page["needs_approval"]:
        return _requested(target, *request_disable(target, identity, actor))
    outcome = disable_two_factor(target, identity, actor)
    if outcome is not Outcome.DONE:
        db.session.rollback()
        return _already_off(target)
    db.session.commit()
    return _disabled(target, identity.case_reference)


def _already_off(target: User) -> Response:
    flash(_("Two-step verification of %(email)s is already off: nothing was changed.", email=target.email), "info")
    return redirect(url_for("admin.user", user_id=target.id))


def _disabled(target: User, case_reference: str) -> Response:
    flash(_("Two-step verification of %(email)s is off and all of its sessions are signed out. It is recorded "
            "under case %(case)s.", email=target.email, case=case_reference), "success")
    return redirect(url_for("admin.user", user_id=target.id))


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
    return _already_off(target)


@bp.route("/requests")
def requests_list() -> str:
    pending, decided = queries.requests_overview()
    return render_template("admin/requests.html", pending=pending, decided=decided, checks=IDENTITY_CHECKS)


def _request(request_id: int) -> AdminRequest:
    row = db.session.get(AdminRequest, request_id)
    if row is None:
        abort(404)
    return row


def _posted_request(request_id: int) -> AdminRequest:
    """The request an approve or reject form names; 404 if there is none, 400 without a valid form."""
    row = _request(request_id)
    if not DecideForm().validate_on_submit():
        abort(400)
    return row


def _request_page(row: AdminRequest, error: str | None = None) -> str:
    return render_template("admin/request.html", r=row, form=DecideForm(), checks=IDENTITY_CHECKS, error=error,
                           waiting=status_of(row) == "pending",
                           own=row.requested_by_id == current_user.id, is_target=row.target_id == current_user.id)


@bp.route("/requests/<int(max=2147483647):request_id>")
def request_detail(request_id: int) -> str:
    return _request_page(_request(request_id))


@bp.route("/requests/<int(max=2147483647):request_id>/approve", methods=["POST"])
def approve(request_id: int) -> Page:
    row = _posted_request(request_id)
    outcome = approve_request(row, Actor(user=current_user, ip=client_ip()))
    if outcome is Outcome.DONE:
        db.session.commit()
        return _disabled(row.target, row.case_reference)
    db.session.rollback()
    if outcome is Outcome.ALREADY:  # turned off another way meanwhile: close the request, audited, nothing else
        close_obsolete_request(row, Actor(user=current_user, ip=client_ip()))
        db.session.commit()
        return _already_off(row.target)
    if outcome is Outcome.SAME_ADMIN:
        return _request_page(row, _("You made this request: a different admin must approve it.")), 403
    if outcome is Outcome.SELF:
        return _request_page(row, _("You cannot use the admin pages on your own account.")), 403
    flash(_("This request no longer waits for approval: nothing was changed."), "info")
    return redirect(url_for("admin.request_detail", request_id=row.id))


@bp.route("/requests/<int(max=2147483647):request_id>/reject", methods=["POST"])
def reject(request_id: int) -> Page:
    row = _posted_request(request_id)
    outcome = reject_request(row, Actor(user=current_user, ip=client_ip()))
    if outcome is Outcome.SELF:
        db.session.rollback()
        return _request_page(row, _("You cannot use the admin pages on your own account.")), 403
    if outcome is Outcome.DONE:
        db.session.commit()
        flash(_("The request is withdrawn.") if row.status == "withdrawn" else _("The request is rejected."), "success")
    else:
        db.session.rollback()
        flash(_("This request no longer waits for approval: nothing was changed."), "info")
    return redirect(url_for("admin.request_detail", request_id=row.id))


def _date(name: str) -> date | None:
    """A YYYY-MM-DD parameter; anything else (or the last day a date can hold) means no bound."""
    try:
        day = date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None
    return day if day < date.max else None


def _audit_filter() -> queries.AuditFilter:
    return queries.AuditFilter(user=_arg("user", 320), event=_arg("event", 64),
                               since=_date("since"), until=_date("until"), case=_arg("case", REFERENCE_MAX))


@bp.route("/audit")
def audit() -> str:
    f = _audit_filter()
    page = _page_number()
    stmt = queries.audit_query(f)
    rows = [] if stmt is None else list(db.session.scalars(
        stmt.offset((page - 1) * queries.PAGE_SIZE).limit(queries.PAGE_SIZE + 1)))
    shown = rows[:queries.PAGE_SIZE]
    emails = queries.emails_of({r.actor_id for r in shown} | {r.subject_id for r in shown})
    return render_template("admin/audit.html", f=f, rows=shown, more=len(rows) > queries.PAGE_SIZE, page=page,
                           emails=emails, labels=activity.LABELS, unknown_user=stmt is None)


def _csv_cell(value: object) -> str:
    """Security: a cell a spreadsheet would run as a formula (=, +, -, @) is prefixed with an apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@bp.route("/audit.csv")
def audit_csv() -> Response:
    stmt = queries.audit_query(_audit_filter())
    rows: list[AuditEvent] = [] if stmt is None else list(db.session.scalars(stmt.limit(100_000)))
    emails = queries.emails_of({r.actor_id for r in rows} | {r.subject_id for r in rows})
    out = io.StringIO()
    out.write("\ufeff")  # a UTF-8 byte order mark, so spreadsheet programs read Chinese notes as UTF-8
    writer = csv.writer(out)
    writer.writerow(["id", "at_utc", "event", "actor", "subject", "ip", "details"])
    for r in rows:
        writer.writerow([_csv_cell(v) for v in (
            r.id, r.at.isoformat(), r.event, emails.get(r.actor_id or 0, ""), emails.get(r.subject_id or 0, ""),
            r.ip, json.dumps(r.details, ensure_ascii=False, sort_keys=True, default=str))])
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=audit.csv"})


CONFIRM_KINDS = ("totp", "sms")  # the factors an admin confirms actions with, preferred first


def _confirm_methods() -> list[Method]:
    return [m for m in (methods.get(kind) for kind in CONFIRM_KINDS) if m is not None and m.is_enrolled(current_user)]


def _confirm_page(form: ConfirmForm, next_url: str, kind: str | None = None) -> tuple[Method | None, dict[str, object]]:
    """The factor of that kind (default: ?method=, else the first enrolled one) and what confirm.html shows of it."""
    enrolled = _confirm_methods()
    wanted = kind or request.args.get("method")
    method = next((m for m in enrolled if m.kind == wanted), enrolled[0] if enrolled else None)
    page: dict[str, object] = {"form": form, "next_url": next_url, "method": method,
                               "others": [m for m in enrolled if m is not method]}
    if isinstance(method, SmsMethod):
        page.update(method.page_context(current_user, now=now()))
    return method, page


@bp.route("/confirm", methods=["GET", "POST"])
def confirm() -> Page:
    """The password and a current second-factor code (authenticator app or text message), before admin actions."""
    next_url = safe_next(request.args.get("next"), default=url_for("admin.users"))
    form = ConfirmForm()
    method, page = _confirm_page(form, next_url)
    if method is None:  # the guard lets no admin without a factor in; a factor of another kind lands here
        return render_template("admin/confirm.html", error=_("Admin actions are confirmed with a code from an "
                                                             "authenticator app or a text message. Set one up "
                                                             "first."), **page), 403
    if not form.validate_on_submit():
        return render_template("admin/confirm.html", **page), 400 if form.is_submitted() else 200
    at = now()
    # Security: a stolen session must learn nothing about a guessed password. The lock and the delay are
    # shown before the password is checked, and every refusal after it reads the same. Only with the right
    # password does a code count toward the second-factor delays and lock, so wrong passwords cannot lock
    # the admin out (the password throttle limits those).
    until = throttle.admit(current_user.email, at)
    db.session.commit()
    if attempts.is_locked(current_user):
        return locked_response("admin/confirm.html", **page)
    retry_at = as_utc(current_user.factor_retry_at) if current_user.factor_retry_at else None
    wait_until = max([t for t in (until, retry_at) if t is not None and t > at], default=None)
    if wait_until is not None:
        return wait_response("admin/confirm.html", wait_until, **page)
    refused = _("The password or the code is not correct.")
    if not passwords().verify(current_user.password_hash, form.password.data or ""):
        form.code.data = ""
        return render_template("admin/confirm.html", error=refused, **page), 400
    admitted = attempts.admit(current_user, at) is None
    db.session.commit()
    code = method.canonical(form.code.data or "")
    verdict = method.verify(current_user, code, now=at) if code is not None and admitted else None
    if verdict is None or not verdict.ok:
        db.session.commit()
        form.code.data = ""
        return render_template("admin/confirm.html", error=refused, **page), 400
    throttle.reset(current_user.email)
    attempts.reset(current_user)
    flow.confirm_factor(flow.current_row())
    db.session.commit()
    return redirect(next_url)


@bp.route("/confirm/send", methods=["POST"])
@send_limit
def confirm_send() -> Page:
    """Text the admin a code for the confirmation (to the verified phone only; CSRF like every POST)."""
    next_url = safe_next(request.args.get("next"), default=url_for("admin.users"))
    method = methods.get("sms")
    if not isinstance(method, SmsMethod) or not method.is_enrolled(current_user):
        abort(404)
    at = now()
    refused = text_code(method, current_user, at, lambda error: render_template(
        "admin/confirm.html", error=error, **_confirm_page(ConfirmForm(formdata=None), next_url, "sms")[1]))
    if refused is not None:
        return refused
    return redirect(url_for("admin.confirm", method="sms", next=next_url), code=303)
