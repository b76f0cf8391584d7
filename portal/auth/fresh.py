"""Fresh proof for sensitive changes: the password within FRESH_AUTH_SECONDS (fresh_auth_required), and for
admin actions the password and a second factor (stepped_up; the step-up page is auth.stepup)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from portal import factors
from portal.auth import flow
from portal.extensions import login_manager

P = ParamSpec("P")
R = TypeVar("R")


def _page_of_post() -> str:
    """The page a POST was sent from, when its URL also answers a GET (else the account overview)."""
    try:
        current_app.url_map.bind("").match(request.path, method="GET")
    except HTTPException:  # 405 (POST only), or a redirect
        return url_for("account.overview")
    return request.path


def fresh_auth_required(view: Callable[P, R]) -> Callable[P, R | Response]:
    @wraps(view)
    @login_required
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R | Response:
        if not flow.is_fresh(flow.current_row()):
            # A POST cannot be replayed after the password prompt: come back to its page instead.
            target = request.full_path.rstrip("?") if request.method == "GET" else _page_of_post()
            return redirect(url_for("auth.reauth", next=target))
        return view(*args, **kwargs)

    return wrapped


def admin_refusal() -> Response | None:
    """Why this request may not reach an admin page: not signed in, not an admin (403), or no second factor."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not current_user.is_admin:
        abort(403)
    if not factors.is_on(current_user):
        flash(_("Set up two-step verification for your own account before you use the admin pages."), "warning")
        return redirect(url_for("account.overview"))
    return None


def stepped_up() -> bool:
    """Whether the password and a second factor were both proved in this session within FRESH_AUTH_SECONDS."""
    return flow.is_fresh_with_factor(flow.current_row())
