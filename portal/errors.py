"""Error pages: a translated message and the right status, never a traceback."""

from __future__ import annotations

import logging
import time

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from limits.errors import StorageError
from redis.exceptions import RedisError
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

log = logging.getLogger("portal.errors")


def _titles() -> dict[int, tuple[str, str]]:
    return {
        400: (_("Bad request"), _("The request could not be understood. Check what you entered and try again.")),
        403: (_("Not allowed"), _("You do not have permission to open this page.")),
        404: (_("Page not found"), _("There is no page at this address.")),
        405: (_("Method not allowed"), _("This page cannot be used that way.")),
        413: (_("Too much data"), _("What you sent is too large.")),
        429: (_("Too many requests"), _("Too many attempts in a short time. Wait a moment, then try again.")),
        500: (_("Something went wrong"), _("An error on our side stopped this page. Please try again.")),
        503: (_("Temporarily unavailable"), _("This service is briefly unavailable. Please try again in a minute.")),
    }


def render_error(status: int, detail: str | None = None) -> tuple[str, int]:
    title, message = _titles().get(status, _titles()[400 if status < 500 else 500])
    return render_template("errors/error.html", status=status, title=title, message=detail or message), status


def _werkzeug_default(exc: HTTPException) -> bool:
    return type(exc).description == exc.description


def handle_http(exc: HTTPException) -> tuple[str, int]:
    status = exc.code or 500
    # Our own abort(400, _("…")) messages are shown; Werkzeug's English defaults are not.
    detail = None if _werkzeug_default(exc) else exc.description
    return render_error(status, detail)


def handle_csrf(exc: CSRFError) -> tuple[str, int]:
    return render_error(400, _("This form has expired or was sent from another site. "
                               "Go back, reload the page and try again."))


def handle_rate_limit(exc: RateLimitExceeded) -> tuple[str, int, dict[str, str]]:
    from portal.extensions import limiter

    current = limiter.current_limit
    seconds = max(1, int(current.reset_at - time.time())) if current else 60
    body, status = render_error(429)
    return body, status, {"Retry-After": str(seconds)}


def handle_storage(exc: StorageError | RedisError) -> tuple[str, int]:
    # Security: limits fail closed; when their storage is down, limited routes refuse.
    log.error("rate-limit storage unavailable: %s", type(exc).__name__)
    return render_error(503)


def handle_database(exc: OperationalError | PoolTimeout) -> tuple[str, int, dict[str, str]]:
    """The database is unreachable, or no pooled connection came free in time: 503, try again shortly."""
    from portal.extensions import db

    log.error("database unavailable on %s %s: %s", request.method, request.path, type(exc).__name__)
    db.session.rollback()
    body, status = render_error(503)
    return body, status, {"Retry-After": "5"}


def handle_unexpected(exc: Exception) -> tuple[str, int]:
    from portal.extensions import db

    log.exception("unhandled error on %s %s", request.method, request.path)
    db.session.rollback()  # nothing half-done is committed by whatever runs after this
    return render_error(500)


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf)
    app.register_error_handler(RateLimitExceeded, handle_rate_limit)
    app.register_error_handler(StorageError, handle_storage)
    app.register_error_handler(RedisError, handle_storage)  # Flask-Limiter lets the client's error through
    app.register_error_handler(OperationalError, handle_database)
    app.register_error_handler(PoolTimeout, handle_database)
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(Exception, handle_unexpected)
