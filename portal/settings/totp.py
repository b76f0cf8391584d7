"""Authenticator-app (TOTP) settings: the issuer shown, the keys that encrypt secrets at rest, enrollment."""

from __future__ import annotations

import base64
import binascii
import secrets
from pathlib import Path

from portal.settings.base import (
    ConfigError,
    Feature,
    Setting,
    Values,
    development_secret_key,
    is_production,
    parse_int,
    parse_list,
    parse_str,
)

TOTP_KEY_FILE = "totp_keys"

SETTINGS: tuple[Setting, ...] = (
    Setting("TOTP_ISSUER", "", parse_str,
            "Issuer shown in authenticator apps (no colon). Default: SITE_NAME in the language of the setup page; "
            "each app keeps the issuer it was set up with."),
    Setting("TOTP_ENCRYPTION_KEYS", (), parse_list,
            "Fernet keys (comma-separated, newest first) that encrypt TOTP secrets at rest. Required in "
            "production; development creates instance/totp_keys. Rotate: add a key in front, then run "
            "flask --app wsgi portal rotate-keys.", secret=True),
    Setting("TOTP_ENROLL_TTL", 600, parse_int, "Seconds an unconfirmed authenticator setup lasts.",
            minimum=60, maximum=3600),
    Setting("TOTP_DRIFT_STEPS", 10, parse_int,
            "How many 30 s steps beyond ±1 are checked to tell a user their phone's clock is off.",
            minimum=1, maximum=40),
)


def fernet_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def is_fernet_key(key: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(key.encode())) == 32 and len(key) == 44
    except (ValueError, binascii.Error):
        return False


def _check_keys(keys: tuple[str, ...]) -> None:
    for index, key in enumerate(keys):
        if not is_fernet_key(key):
            raise ConfigError(f"TOTP_ENCRYPTION_KEYS: key {index + 1} is not a Fernet key (32 url-safe base64 bytes)")


def check(values: Values) -> None:
    if is_production(values) and not values["TOTP_ENCRYPTION_KEYS"]:
        raise ConfigError(
            "TOTP_ENCRYPTION_KEYS: production needs at least one Fernet key (python -c "
            "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
        )
    _check_keys(values["TOTP_ENCRYPTION_KEYS"])
    # otpauth://totp/ISSUER:account: a colon in the issuer would split the label in the wrong place.
    issuer = values["TOTP_ISSUER"]
    if ":" in issuer:
        raise ConfigError(f"TOTP_ISSUER={issuer!r}: must contain no colon")
    if issuer and (len(issuer) > 60 or not issuer.isprintable() or not issuer.strip()):
        # A longer issuer no longer fits the QR code; a control character would reach every authenticator app.
        raise ConfigError(f"TOTP_ISSUER={issuer[:80]!r}: expected a name of 1 to 60 printable characters")
    if not values["TOTP_ISSUER"]:
        for language, name in values["SITE_NAMES"].items():
            if ":" in name:
                raise ConfigError(f"SITE_NAME[{language!r}]={name!r}: is also the authenticator apps' issuer, which "
                                  "must contain no colon; set TOTP_ISSUER to a name without one")


def finalise(values: Values, instance_path: Path) -> None:
    if not values["TOTP_ENCRYPTION_KEYS"]:  # development and testing only: check refused it in production
        values["TOTP_ENCRYPTION_KEYS"] = (development_secret_key(instance_path, TOTP_KEY_FILE, fernet_key),)
        _check_keys(values["TOTP_ENCRYPTION_KEYS"])  # the file in instance/ may have been edited


FEATURE = Feature("totp", SETTINGS, check=check, finalise=finalise)
