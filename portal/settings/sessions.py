"""Session settings: how long a pending sign-in, a session and a password confirmation last; the cookies."""

from __future__ import annotations

from pathlib import Path

from portal.settings.base import ConfigError, Feature, Setting, Values, is_production, parse_bool, parse_int

SETTINGS: tuple[Setting, ...] = (
    Setting("PENDING_SIGNIN_TTL", 600, parse_int, "Seconds a password-only (pending) sign-in lasts.",
            minimum=60, maximum=3600),
    Setting("PENDING_MAX_FAILURES", 5, parse_int, "Wrong codes before a pending sign-in is dropped.",
            minimum=1, maximum=20),
    Setting("SESSION_IDLE_TIMEOUT", 7200, parse_int, "Seconds of inactivity that end a session.",
            minimum=60, maximum=86_400 * 30),
    Setting("SESSION_MAX_AGE", 43_200, parse_int, "Longest life of a session without remember-me, seconds.",
            minimum=300, maximum=86_400 * 30),
    Setting("REMEMBER_ME_DAYS", 30, parse_int, "Life of a remembered session, days (at most 30).",
            minimum=1, maximum=30),
    Setting("FRESH_AUTH_SECONDS", 300, parse_int,
            "How long a password confirmation counts for sensitive changes.", minimum=30, maximum=3600),
    Setting("SESSION_COOKIE_SECURE", None, parse_bool,
            "Send cookies over HTTPS only. Default: on in production, off otherwise."),
)


def check(values: Values) -> None:
    production = is_production(values)
    secure = values["SESSION_COOKIE_SECURE"]
    values["SESSION_COOKIE_SECURE"] = production if secure is None else secure
    if production and not values["SESSION_COOKIE_SECURE"]:
        raise ConfigError("SESSION_COOKIE_SECURE=False: production cookies must be Secure")


def finalise(values: Values, instance_path: Path) -> None:
    values.update(
        # Security: the __Host- prefix pins the cookie to this host and path / over HTTPS.
        SESSION_COOKIE_NAME="__Host-session" if values["SESSION_COOKIE_SECURE"] else "session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_PATH="/",
        PERMANENT_SESSION_LIFETIME=values["REMEMBER_ME_DAYS"] * 86_400,
        REMEMBER_COOKIE_DURATION=values["REMEMBER_ME_DAYS"] * 86_400,
        REMEMBER_COOKIE_SECURE=values["SESSION_COOKIE_SECURE"],
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session that holds it
    )


FEATURE = Feature("sessions", SETTINGS, check=check, finalise=finalise)
