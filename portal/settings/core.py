"""Core settings: the environment, the secret key, proxies in front, request size, languages and logging."""

from __future__ import annotations

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

ENVIRONMENTS = ("development", "production", "testing")
DEV_KEY_FILE = "secret_key"
MIN_SECRET_KEY_LENGTH = 32
TRANSLATIONS = Path(__file__).parent.parent / "translations"

SETTINGS: tuple[Setting, ...] = (
    Setting("PORTAL_ENV", "development", parse_str, "development, production or testing.",
            choices=ENVIRONMENTS),
    Setting("SECRET_KEY", None, parse_str,
            "Signs cookies and keys code hashes. Required in production (32+ characters); "
            "development creates one in instance/.", secret=True),
    # A renamed setting left in place must not silently fall back to its default (no proxy hops would make
    # every client the load balancer, sharing one set of per-IP limits).
    Setting("PROXY_HOPS", 0, parse_int,
            "Number of trusted reverse proxies in front of the portal (X-Forwarded-For hops).",
            minimum=0, maximum=5, formerly=("PROXY_FIX_X_FOR",)),
    Setting("MAX_CONTENT_LENGTH", 65_536, parse_int, "Largest request body in bytes (413 above).",
            minimum=1024, maximum=16 * 1024 * 1024),
    Setting("LANGUAGES", ("en", "zh_Hans"), parse_list,
            "Languages offered, in order: en and the catalogues in portal/translations (zh_Hans)."),
    Setting("LOG_LEVEL", "INFO", parse_str, "Python log level.",
            choices=("DEBUG", "INFO", "WARNING", "ERROR")),
)


def available_languages() -> tuple[str, ...]:
    catalogues = TRANSLATIONS.glob("*/LC_MESSAGES/messages.po") if TRANSLATIONS.is_dir() else ()
    return ("en", *sorted(path.parent.parent.name for path in catalogues))


def _check_languages(languages: tuple[str, ...], production: bool) -> None:
    known = available_languages()
    unknown = [language for language in languages if language not in known]
    if not languages or unknown:
        problem = f"no catalogue for {', '.join(unknown)}" if unknown else "name at least one language"
        raise ConfigError(f"LANGUAGES={','.join(languages)!r}: {problem} (available: {', '.join(known)})")
    # Without its compiled catalogue a language is served in English, silently: production checks for it.
    uncompiled = [language for language in languages if language != "en"
                  and not (TRANSLATIONS / language / "LC_MESSAGES" / "messages.mo").is_file()]
    if production and uncompiled:
        raise ConfigError(f"LANGUAGES: {', '.join(uncompiled)} not compiled; run make i18n-compile "
                          "(pybabel compile -d portal/translations) before starting")


PLACEHOLDER_WORDS = ("changeme", "change-me", "change_me", "replace-me", "your-secret", "secret-key",
                     "secret_key", "development", "example")


def _looks_like_placeholder(key: str) -> bool:
    """Refuse keys copied from documentation or typed by hand (few distinct characters)."""
    lowered = key.lower()
    return len(set(key)) < 12 or any(word in lowered for word in PLACEHOLDER_WORDS)


def check(values: Values) -> None:
    production = is_production(values)
    _check_languages(values["LANGUAGES"], production)
    key = values["SECRET_KEY"]
    if production and (not key or len(key) < MIN_SECRET_KEY_LENGTH or _looks_like_placeholder(key)):
        raise ConfigError(
            "SECRET_KEY: production needs a random key of at least "
            f"{MIN_SECRET_KEY_LENGTH} characters (python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )


def finalise(values: Values, instance_path: Path) -> None:
    if not values["SECRET_KEY"]:  # development and testing only: check refused it in production
        values["SECRET_KEY"] = development_secret_key(instance_path, DEV_KEY_FILE)
    values.update(
        BABEL_DEFAULT_LOCALE="en",
        BABEL_TRANSLATION_DIRECTORIES=str(TRANSLATIONS),
        TESTING=values["PORTAL_ENV"] == "testing" or bool(values.get("TESTING")),
    )


FEATURE = Feature("core", SETTINGS, check=check, finalise=finalise)
