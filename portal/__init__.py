"""The 2FA portal: create_app(overrides) builds a configured Flask app."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from portal import settings

ROOT = Path(__file__).resolve().parent.parent


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: config → extensions → blueprints → errors → CLI."""
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    values = settings.read_settings(os.environ, overrides)
    app.config.update(settings.finalise(values, Path(app.instance_path)))
    logging.basicConfig(level=app.config["LOG_LEVEL"], format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # The twilio SDK logs every request (URL with the account SID, headers) at INFO; our one line per
    # Twilio error is in portal.sms.
    logging.getLogger("twilio.http_client").setLevel(max(logging.WARNING, logging.getLogger().level))
    # Tencent's SDK logs each request at DEBUG: its body holds the phone number and the SMS code.
    logging.getLogger("tencentcloud_sdk_common").setLevel(max(logging.WARNING, logging.getLogger().level))
    if app.config["PROXY_HOPS"]:
        # Security: trust exactly the configured number of proxy hops, never a raw X-Forwarded-For.
        n = app.config["PROXY_HOPS"]
        middleware = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=0)
        app.wsgi_app = middleware  # type: ignore[method-assign]  # Flask's documented way to add WSGI middleware

    from portal import bodies, cli, crypto, errors, i18n, mail, models, security, sms, waits  # noqa: F401  (models: metadata)
    from portal.auth import flow
    from portal.extensions import babel, csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None  # the login page explains itself; no flash on every redirect
    login_manager.session_protection = None  # sessions are checked against user_sessions instead
    bodies.init_app(app)  # first of the request hooks: no other one reads a body that is not form text
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    app.config["RATELIMIT_STORAGE_URI"] = values["RATELIMIT_STORAGE_URI"]
    limiter.init_app(app)
    crypto.init_app(app)
    mail.init_app(app)
    flow.init_app(app)
    security.init_app(app)
    i18n.init_app(app)
    waits.init_app(app)

    from portal import factors
    from portal.account import recovery_codes, routes
    from portal.account import sms as sms_pages
    from portal.account import totp as totp_pages
    from portal.admin import audit as audit_pages  # noqa: F401  (importing a page module adds its routes)
    from portal.admin import bp as admin_bp
    from portal.admin import disable_requests, users  # noqa: F401  (importing a page module adds its routes)
    from portal.auth import stepup
    from portal.auth.routes import bp as auth_bp
    from portal.factors.recovery import RecoveryMethod
    from portal.factors.sms import SmsMethod
    from portal.factors.totp import TotpMethod
    from portal.health import bp as health_bp
    from portal.language import bp as language_bp
    from portal.signin import routes as signin
    from portal.signin import sms as signin_sms

    for blueprint in (health_bp, auth_bp, routes.bp, signin.bp, totp_pages.bp, recovery_codes.bp, sms_pages.bp,
                      signin_sms.bp, admin_bp, stepup.bp, language_bp):
        app.register_blueprint(blueprint)
    sms.init_app(app)
    if app.config["SMS_PROVIDER"] == "console":
        from portal.sms.dev_outbox import bp as dev_outbox_bp

        app.register_blueprint(dev_outbox_bp)
    factors.register(app, TotpMethod(drift_limit=app.config["TOTP_DRIFT_STEPS"]))
    factors.register(app, SmsMethod())
    factors.register(app, RecoveryMethod())
    errors.init_app(app)
    cli.init_app(app)

    flow.freeze_guard(app)  # after the last blueprint: the guard is read off the final URL map
    return app

