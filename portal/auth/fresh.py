"""fresh_auth_required: sensitive changes need the password confirmed within FRESH_AUTH_SECONDS."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, redirect, request, url_for
from flask_login import login_required
from werkzeug.exceptions import HTTPException

from portal.auth import flow

F = TypeVar("F", bound=Callable[..., Any])


def _page_of_post() -> str:
    """The page a POST was sent from, when its URL also answers a GET (else the account overview)."""
    try:
        current_app.url_map.bind("").match(request.path, method="GET")
    except HTTPException:  # 405 (POST only), or a redirect
        return url_for("account.overview")
    return request.path


def fresh_auth_required(view: F) -> F:
    @wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not flow.is_fresh(flow.current_row()):
            # A POST cannot be replayed after the password prompt: come back to its page instead.
            target = request.full_path.rstrip("?") if request.method == "GET" else _page_of_post()
            return redirect(url_for("auth.reauth", next=target))
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]
