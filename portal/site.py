"""The portal's name (SITE_NAME) in a language, and the issuer a new authenticator app is given."""

from __future__ import annotations

from flask import current_app
from flask_babel import get_locale


def site_name(language: str | None = None) -> str:
    """SITE_NAME in language (default: the page's): its translation, or the operator's name for it."""
    names: dict[str, str] = current_app.config["SITE_NAMES"]
    return names.get(language or str(get_locale())) or next(iter(names.values()))


def totp_issuer(language: str | None = None) -> str:
    """The issuer for an authenticator app set up now: TOTP_ISSUER, else the site's name in the page's language."""
    issuer: str = current_app.config["TOTP_ISSUER"]
    return issuer or site_name(language)
