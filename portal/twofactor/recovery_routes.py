"""/account/2fa/recovery-codes: how many are left, and a new set (shown once) on request."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from portal import audit
from portal.auth.forms import PostForm
from portal.auth.fresh import fresh_auth_required
from portal.clock import now
from portal.extensions import db
from portal.models import User
from portal.security import client_ip
from portal.twofactor import methods
from portal.twofactor.methods.recovery import generate_set, remaining, set_created_at, shown

bp = Blueprint("recovery_codes", __name__, url_prefix="/account/2fa/recovery-codes")


def show_new_set(user: User, *, first: bool) -> str:
    """Make a new set and render it: the only response that ever holds these codes in clear.

    The caller commits. The page is sent with Cache-Control: no-store (every page is), and it is the
    answer to a POST, so Back cannot bring the codes back from a cache or a GET.
    """
    codes = [shown(code) for code in generate_set(user, now())]
    audit.record("recovery.generated", actor=user, subject=user, ip=client_ip(), count=len(codes))
    return render_template("twofactor/recovery_codes_show.html", codes=codes, first=first, form=PostForm(),
                           filename="recovery-codes.txt")


@bp.route("", methods=["GET"])
@login_required
def overview() -> str:
    """Read only: a GET never changes anything."""
    return render_template("twofactor/recovery_codes.html", left=remaining(current_user),
                           created=set_created_at(current_user), on=bool(methods.primary(current_user)),
                           form=PostForm())


@bp.route("", methods=["POST"])
@fresh_auth_required
def regenerate() -> Response | str:
    if not methods.primary(current_user):
        flash(_("Recovery codes come with two-step verification. Set up an authenticator app first."), "warning")
        return redirect(url_for("recovery_codes.overview"))
    page = show_new_set(current_user, first=False)
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
