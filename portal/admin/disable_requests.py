"""/admin/requests: disable requests waiting for a second admin, approved, rejected or withdrawn."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.admin import bp, queries
from portal.admin.common import already_off, disabled
from portal.admin.forms import DecideForm
from portal.admin.operations import (
    IDENTITY_CHECKS,
    Actor,
    Outcome,
    approve_request,
    close_obsolete_request,
    reject_request,
    status_of,
)
from portal.extensions import db
from portal.models import AdminRequest
from portal.responses import Page
from portal.security import client_ip


@bp.route("/requests")
def requests_list() -> str:
    pending, decided = queries.requests_overview()
    return render_template("admin/requests.html", pending=pending, decided=decided, checks=IDENTITY_CHECKS)


def _request_row(request_id: int) -> AdminRequest:
    row = db.session.get(AdminRequest, request_id)
    if row is None:
        abort(404)
    return row


def _posted_request(request_id: int) -> AdminRequest:
    """The request an approve or reject form names; 404 if there is none, 400 without a valid form."""
    row = _request_row(request_id)
    if not DecideForm().validate_on_submit():
        abort(400)
    return row


def _request_page(row: AdminRequest, error: str | None = None) -> str:
    return render_template("admin/request.html", r=row, form=DecideForm(), checks=IDENTITY_CHECKS, error=error,
                           waiting=status_of(row) == "pending",
                           own=row.requested_by_id == current_user.id, is_target=row.target_id == current_user.id)


@bp.route("/requests/<int(max=2147483647):request_id>")
def request_detail(request_id: int) -> str:
    return _request_page(_request_row(request_id))


@bp.route("/requests/<int(max=2147483647):request_id>/approve", methods=["POST"])
def approve(request_id: int) -> Page:
    row = _posted_request(request_id)
    outcome = approve_request(row, Actor(user=current_user, ip=client_ip()))
    if outcome is Outcome.DONE:
        db.session.commit()
        return disabled(row.target, row.case_reference)
    db.session.rollback()
    if outcome is Outcome.ALREADY:  # turned off another way meanwhile: close the request, audited, nothing else
        close_obsolete_request(row, Actor(user=current_user, ip=client_ip()))
        db.session.commit()
        return already_off(row.target)
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
