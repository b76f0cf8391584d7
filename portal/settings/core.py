"""Core settings: the environment, the secret key, proxies in front, request size, languages and logging."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

from babel.support import Translations

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


def N_(message: str) -> str:
    """Marks a message for the catalogue (pybabel's N_ keyword) where it is translated later, per language."""
    return message


# The portal's own name: translated per language (the catalogue's msgstr) unless the operator names it.
DEFAULT_SITE_NAME = N_("2FA Portal")
SITE_NAME_EXAMPLE = '{"en": "Acme Sign-in", "zh_Hans": "Acme 登录"}'

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
    Setting("SITE_NAME", DEFAULT_SITE_NAME, parse_str,
            "The portal's name: page titles, the header, the texts with codes and the issuer in authenticator "
            "apps. The default is translated (两步验证门户 in zh_Hans); any other name is used as given in "
            f"every language, or give one per language as JSON, e.g. {SITE_NAME_EXAMPLE}."),
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


def built_in_site_name(language: str) -> str:
    """DEFAULT_SITE_NAME in language, from its compiled catalogue (English when there is none, or it is unreadable:
    its pages are in English then too)."""
    try:
        return str(Translations.load(str(TRANSLATIONS), [language]).gettext(DEFAULT_SITE_NAME))
    except (OSError, struct.error):
        return DEFAULT_SITE_NAME


def site_names(raw: str | dict[str, Any], languages: tuple[str, ...]) -> dict[str, str]:
    """SITE_NAME as {language: name} for every language of LANGUAGES."""
    if raw == DEFAULT_SITE_NAME:
        return {language: built_in_site_name(language) for language in languages}
    value: object = raw
    if isinstance(raw, str) and raw.startswith("{"):
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"SITE_NAME: not valid JSON ({exc.msg}); expected a name or "
                              f"{SITE_NAME_EXAMPLE}") from None
        except RecursionError:  # nested past what the parser follows: no name is shaped like that
            raise ConfigError(f"SITE_NAME: expected a name or a JSON object such as {SITE_NAME_EXAMPLE}") from None
    if isinstance(value, str):
        value = dict.fromkeys(languages, value)
    if not isinstance(value, dict):
        raise ConfigError(f"SITE_NAME: expected a name or a JSON object such as {SITE_NAME_EXAMPLE}")
    unknown = [language for language in value if language not in languages]
    missing = [language for language in languages if language not in value]
    if unknown or missing:
        problem = f"unknown language {unknown[0]!r}" if unknown else f"no name for {missing[0]}"
        raise ConfigError(f"SITE_NAME: {problem}; give a name for each of LANGUAGES ({', '.join(languages)})")
    for language, name in value.items():
        if not isinstance(name, str) or not name.strip() or len(name) > 60 or not name.isprintable():
            raise ConfigError(f"SITE_NAME[{language!r}]={name!r}: expected a name of 1 to 60 printable characters")
        if "{{" in name or "}}" in name:  # a "{{code}}" in the name would put the code where the name stands
            raise ConfigError(f"SITE_NAME[{language!r}]={name!r}: must not contain {{{{ or }}}} (texts' placeholders)")
    return {language: value[language].strip() for language in languages}


def check(values: Values) -> None:
    production = is_production(values)
    _check_languages(values["LANGUAGES"], production)
    values["SITE_NAMES"] = site_names(values["SITE_NAME"], values["LANGUAGES"])
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
