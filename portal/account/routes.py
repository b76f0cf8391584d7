"""The account's security overview and its sessions."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from portal import activity, factors
from portal.account.agents import describe_agent
from portal.auth import flow
from portal.auth.forms import PostForm
from portal.extensions import db
from portal.factors.recovery import remaining
from portal.factors.sms import confirmed_phone
from portal.factors.totp import confirmed_factor
from portal.phone import mask

bp = Blueprint("account", __name__)
bp.add_app_template_filter(describe_agent, "agent")


@bp.route("/")
def index() -> Response:
    return redirect(url_for("account.overview" if current_user.is_authenticated else "auth.login"))


@bp.route("/account")
@login_required
def overview() -> str:
    sms = confirmed_phone(current_user)
    return render_template(
        "account/overview.html",
        methods=factors.primary(current_user),
        totp=confirmed_factor(current_user),
        sms=sms,
        sms_phone=mask(sms.phone) if sms else None,
        activity=activity.recent(current_user),
        recovery_left=remaining(current_user),
        sessions=flow.active_sessions(current_user),
        this_session=flow.current_row(),
        form=PostForm(),
    )


@bp.route("/account/sessions/revoke-others", methods=["POST"])
@login_required
def revoke_others() -> Response:
    count = flow.revoke_sessions(current_user, keep=flow.current_row())
    db.session.commit()
    flash(ngettext("Signed out %(num)d other session.", "Signed out %(num)d other sessions.", count), "success")
    return redirect(url_for("account.overview"))


@bp.route("/account/sessions/<int(max=2147483647):session_id>/revoke", methods=["POST"])
@login_required
def revoke_one(session_id: int) -> Response:
    row = flow.current_row()
    if row is not None and row.id == session_id:
        abort(400, _("Use “Sign out” to end this session."))
    if flow.revoke_sessions(current_user, only_id=session_id) == 0:
        abort(404)
    db.session.commit()
    flash(_("That session is signed out."), "success")
    return redirect(url_for("account.overview"))
