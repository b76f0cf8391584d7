"""The SMS provider bound to an app (SMS_PROVIDER): one per app, with one Twilio or Tencent Cloud client."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app

from portal.extensions import limiter
from portal.sms.base import SmsProvider

# Security: one per-IP budget (RATELIMIT_SMS) for every route that sends a text, not one per route.
send_limit = limiter.shared_limit(lambda: current_app.config["RATELIMIT_SMS"], scope="sms-send")


def make_provider(app: Flask) -> SmsProvider:
    cfg = app.config
    kind = cfg["SMS_PROVIDER"]
    if kind == "console":
        from portal.sms.console import ConsoleProvider

        return ConsoleProvider(cfg, Path(app.instance_path))
    if kind == "tencent":
        from portal.sms.tencent import TencentSmsProvider

        return TencentSmsProvider(cfg)
    from portal.sms.twilio_client import make_client

    client = make_client(cfg)
    if kind == "twilio_verify":
        from portal.sms.twilio_verify import TwilioVerifyProvider

        return TwilioVerifyProvider(client, cfg)
    from portal.sms.twilio_messaging import TwilioMessagingProvider

    return TwilioMessagingProvider(client, cfg)


def init_app(app: Flask) -> None:
    app.extensions["portal.sms"] = make_provider(app)


def provider() -> SmsProvider:
    chosen: SmsProvider = current_app.extensions["portal.sms"]
    return chosen
