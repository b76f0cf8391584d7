"""fresh_auth_required: sensitive changes need the password confirmed within FRESH_AUTH_SECONDS."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import redirect, request, url_for
from flask_login import login_required

from portal.auth import flow

F = TypeVar("F", bound=Callable[..., Any])


def fresh_auth_required(view: F) -> F:
    @wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not flow.is_fresh(flow.current_row()):
            # A POST cannot be replayed after the password prompt: come back to the overview instead.
            target = request.full_path.rstrip("?") if request.method == "GET" else url_for("account.overview")
            return redirect(url_for("auth.reauth", next=target))
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]
