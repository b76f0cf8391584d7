"""GET /healthz for the load balancer: 200 when the database and the rate-limit storage both answer, else 503.

The body names each dependency and its state ("ok" or "unavailable"), never a URL, a host or an error text,
so it can be served to anyone. It sets no cookie and is not rate limited (the balancer polls it).
"""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from portal.errors import UNAVAILABLE_RETRY_AFTER
from portal.extensions import db, limiter

bp = Blueprint("health", __name__)
log = logging.getLogger("portal.health")


def _database() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
        return True
    except SQLAlchemyError as exc:
        log.warning("health: database unavailable (%s)", type(exc).__name__)
        return False
    finally:
        db.session.rollback()


def _rate_limit_storage() -> bool:
    try:
        ok = bool(limiter.storage.check())
    except Exception as exc:  # any failure of the storage client means "unavailable"
        log.warning("health: rate-limit storage unavailable (%s)", type(exc).__name__)
        return False
    if not ok:
        log.warning("health: rate-limit storage unavailable (no answer)")
    return ok


@bp.route("/healthz")
@limiter.exempt
def healthz() -> Response:
    checks = {"database": _database(), "rate_limit_storage": _rate_limit_storage()}
    healthy = all(checks.values())
    body = {"status": "ok" if healthy else "unavailable",
            **{name: "ok" if up else "unavailable" for name, up in checks.items()}}
    response = jsonify(body)
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    if not healthy:
        response.headers["Retry-After"] = UNAVAILABLE_RETRY_AFTER
    return response
