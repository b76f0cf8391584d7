"""Mail settings: how security notices are sent (SMTP or console), their sender, and the site they link to."""

from __future__ import annotations

import re

from portal.settings.base import ConfigError, Feature, Setting, Values, is_production, parse_bool, parse_int, parse_str

SETTINGS: tuple[Setting, ...] = (
    Setting("MAIL_BACKEND", "", parse_str,
            "How security notices are emailed: smtp, or console (development: the server log). "
            "Default: smtp when MAIL_SERVER is set, else console.", choices=("", "smtp", "console")),
    Setting("MAIL_SERVER", "", parse_str, "SMTP server host for security notices."),
    Setting("MAIL_PORT", 587, parse_int, "SMTP server port.", minimum=1, maximum=65535),
    Setting("MAIL_USERNAME", "", parse_str, "SMTP user name (empty: no login)."),
    Setting("MAIL_PASSWORD", "", parse_str, "SMTP password.", secret=True),
    Setting("MAIL_USE_TLS", True, parse_bool, "Use STARTTLS with the SMTP server."),
    Setting("MAIL_FROM", "2FA Portal <no-reply@localhost>", parse_str,
            "Sender of security notices: an address, with a display name or without."),
    Setting("MAIL_TIMEOUT", 10, parse_int, "SMTP timeout, seconds.", minimum=1, maximum=30),
    Setting("MAIL_SITE_URL", "", parse_str,
            "The portal's public address (e.g. https://2fa.example.com) for links in emails and recovery-code "
            "files. Required in production (https); development uses the request's."),
)


def _check_mail_from(sender: str) -> None:
    """One address, as the From header will carry it (the email package's own parser: defects refused)."""
    from email.policy import default

    try:
        header = default.header_factory("From", sender)
        single = len(header.addresses) == 1 and not header.defects and "@" in header.addresses[0].addr_spec
    except (ValueError, IndexError, TypeError):
        single = False
    if any(c in sender for c in "\r\n") or not single:
        raise ConfigError(f"MAIL_FROM={sender!r}: expected one address such as 'Security <security@example.com>'")


def _site_url(url: str, production: bool) -> str:
    """The public address links are built on; the Host header is the client's to choose, so production needs it."""
    from urllib.parse import urlsplit

    if not url:
        if production:
            raise ConfigError("MAIL_SITE_URL: production needs the portal's public address (e.g. "
                              "https://2fa.example.com) for links in security notices and recovery-code files")
        return ""
    bad = ConfigError(f"MAIL_SITE_URL={url!r}: expected the portal's address, such as https://2fa.example.com")
    try:
        parts = urlsplit(url)
        port = parts.port  # a port that is not a number raises
    except ValueError:
        raise bad from None
    host = parts.hostname or ""
    if (parts.scheme not in ("http", "https") or (port is not None and not 1 <= port <= 65535)
            or "@" in parts.netloc or "?" in url or "#" in url
            or not re.fullmatch(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?|[0-9a-f:.]+", host)):
        raise bad
    if production and parts.scheme != "https":
        raise ConfigError(f"MAIL_SITE_URL={url!r}: production links must use https://")
    return url.rstrip("/")


def check(values: Values) -> None:
    production = is_production(values)
    _check_mail_from(values["MAIL_FROM"])
    if not values["MAIL_BACKEND"]:
        values["MAIL_BACKEND"] = "smtp" if values["MAIL_SERVER"] else "console"
    if values["MAIL_BACKEND"] == "smtp" and not values["MAIL_SERVER"]:
        raise ConfigError("MAIL_SERVER: MAIL_BACKEND='smtp' needs the SMTP server's host name")
    if production and values["MAIL_BACKEND"] == "console":
        raise ConfigError("MAIL_BACKEND='console': production emails security notices; set MAIL_SERVER "
                          "(and MAIL_USERNAME, MAIL_PASSWORD, MAIL_FROM)")
    values["MAIL_SITE_URL"] = _site_url(values["MAIL_SITE_URL"], production)


FEATURE = Feature("mail", SETTINGS, check=check)
