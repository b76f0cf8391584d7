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

from portal import waits

log = logging.getLogger("portal.errors")


def _titles() -> dict[int, tuple[str, str]]:
    return {
        400: (_("Bad request"), _("The request could not be understood. Check what you entered and try again.")),
        403: (_("Not allowed"), _("You do not have permission to open this page.")),
        404: (_("Page not found"), _("There is no page at this address.")),
        405: (_("Method not allowed"), _("This page cannot be used that way.")),
        413: (_("Too much data"), _("What you sent is too large.")),
        415: (_("Unsupported data"), _("This page takes a web form only, not this kind of data.")),
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
    # The page says the wait Retry-After gives (in seconds up to a minute, else in minutes) and counts it down.
    wait = waits.countdown(seconds, limited=True)
    body, status = render_error(429, wait)
    return body, status, {"Retry-After": str(seconds)}


# Seconds a client is asked to wait after a 503 for a dependency that is down (the health check says the same).
UNAVAILABLE_RETRY_AFTER = "5"


def handle_storage(exc: StorageError | RedisError) -> tuple[str, int, dict[str, str]]:
    # Security: limits fail closed; when their storage is down, limited routes refuse.
    log.error("rate-limit storage unavailable: %s", type(exc).__name__)
    body, status = render_error(503)
    return body, status, {"Retry-After": UNAVAILABLE_RETRY_AFTER}


# SQLSTATE classes and codes that mean "try again shortly": connection failures, serialization failures and
# deadlocks, the server shutting down or out of connections.
TRANSIENT_SQLSTATES = ("08", "40001", "40P01", "57P01", "57P02", "57P03", "53300")


def _transient(exc: OperationalError | PoolTimeout) -> bool:
    if isinstance(exc, PoolTimeout) or exc.connection_invalidated:
        return True
    original = exc.orig
    sqlstate = getattr(original, "sqlstate", None)
    if sqlstate:
        return str(sqlstate).startswith(TRANSIENT_SQLSTATES)
    if "database is locked" in str(original):  # SQLite's busy timeout ran out
        return True
    # psycopg raises a connection that never opened (refused, timed out) without a SQLSTATE.
    return type(original).__module__.startswith("psycopg")


def handle_database(exc: OperationalError | PoolTimeout) -> tuple[str, int] | tuple[str, int, dict[str, str]]:
    """The database is unreachable or busy, or no pooled connection came free in time: 503, try again shortly.

    Anything else an OperationalError can mean (a missing table after a skipped migration, say) is a 500
    with its traceback in the log, like every unexpected error.
    """
    from portal.extensions import db

    if not _transient(exc):
        return handle_unexpected(exc)
    log.error("database unavailable on %s %s: %s (%s)", request.method, request.path, type(exc).__name__,
              getattr(exc, "orig", None).__class__.__name__)
    db.session.rollback()
    body, status = render_error(503)
    return body, status, {"Retry-After": UNAVAILABLE_RETRY_AFTER}


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
