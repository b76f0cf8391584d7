"""/account/2fa/recovery-codes: how many are left, and a new set (shown once) on request."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from portal import factors
from portal.account.new_codes import show_codes
from portal.auth.forms import PostForm
from portal.auth.fresh import fresh_auth_required
from portal.clock import now
from portal.extensions import db, limiter
from portal.factors.recovery import (
    remaining,
    replace_set,
    set_created_at,
    set_token,
)

bp = Blueprint("recovery_codes", __name__, url_prefix="/account/2fa/recovery-codes")

# Each new set is 10 Argon2id hashes (64 MiB each at the production settings): few per IP and hour.
REGENERATE_LIMIT = "5 per hour"


@bp.route("", methods=["GET"])
@login_required
def overview() -> str:
    """Read only: a GET never changes anything."""
    return render_template("account/recovery_codes.html", left=remaining(current_user),
                           created=set_created_at(current_user), on=factors.is_on(current_user),
                           replaces=set_token(current_user), form=PostForm())


@bp.route("", methods=["POST"])
@limiter.limit(REGENERATE_LIMIT, methods=["POST"])
@fresh_auth_required
def regenerate() -> Response | str:
    if not factors.is_on(current_user):
        flash(_("Recovery codes come with two-step verification. Set up an authenticator app first."), "warning")
        return redirect(url_for("recovery_codes.overview"))
    codes = replace_set(current_user, now(), request.form.get("replaces", ""))
    if codes is None:
        # Security: a refresh or a second click must not kill the codes the first answer showed.
        db.session.rollback()
        flash(_("New codes were already generated and shown once, so no other set was made. If you did not "
                "save them, generate new codes again."), "warning")
        return redirect(url_for("recovery_codes.overview"))
    page = show_codes(codes, current_user, first=False)
    db.session.commit()
    return page


@bp.route("/saved", methods=["POST"])
@login_required
def saved() -> Response | tuple[str, int]:
    if request.form.get("saved") != "yes":
        return render_template(
            "errors/error.html", status=400, title=_("Did you save your codes?"),
            message=_("Tick “I have saved these codes” to continue. If you did not save them, generate a "
                      "new set on the recovery codes page: the codes you saw will not be shown again."),
        ), 400
    flash(_("Keep your recovery codes somewhere safe, away from your phone."), "success")
    return redirect(url_for("account.overview"))
