"""Per-IP rate limits (Flask-Limiter): where the counters live and the limits on signing in and registering.

The limit on sending texts (RATELIMIT_SMS) is an SMS setting, checked with the others there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from portal.settings.base import (
    ConfigError,
    Feature,
    Setting,
    Values,
    check_rate_limit,
    is_production,
    parse_int,
    parse_str,
)

STORAGE_SCHEMES = ("redis", "rediss", "redis+unix", "redis+sentinel", "redis+cluster", "memory")

SETTINGS: tuple[Setting, ...] = (
    Setting("RATELIMIT_STORAGE_URI", "memory://", parse_str,
            "Flask-Limiter storage: redis://, rediss://, redis+unix://, redis+sentinel:// or redis+cluster://, "
            "e.g. redis://127.0.0.1:6379/0. Production refuses memory://.",
            secret=True),
    Setting("RATELIMIT_STORAGE_TIMEOUT", 2, parse_int,
            "Seconds to wait for Redis (connect and each command) before a limited route answers 503.",
            minimum=1, maximum=30),
    Setting("RATELIMIT_LOGIN", "10 per minute;100 per hour", parse_str,
            "Per-IP limit on password attempts (Flask-Limiter syntax)."),
    Setting("RATELIMIT_REGISTER", "5 per minute;50 per day", parse_str,
            "Per-IP limit on account creation."),
)


def storage_options(values: Values) -> dict[str, Any]:
    """Flask-Limiter storage options: Redis gets connect and read timeouts, so a hung Redis means 503, not a hang."""
    if values["RATELIMIT_STORAGE_URI"].startswith("redis"):  # every Redis scheme: redis-py's timeouts
        timeout = values["RATELIMIT_STORAGE_TIMEOUT"]
        return {"socket_connect_timeout": timeout, "socket_timeout": timeout}
    return {}


def _storage_uri(uri: str) -> str:
    """The limiter's storage with its scheme in lower case (schemes ignore case; Flask-Limiter's lookup does not).

    An unknown scheme would otherwise end start-up in a traceback, and an empty one fall back to memory."""
    scheme, sep, rest = uri.partition("://")
    if not sep or scheme.lower() not in STORAGE_SCHEMES:
        raise ConfigError("RATELIMIT_STORAGE_URI=(hidden): expected redis://host:6379/0 (or rediss://, "
                          "redis+unix://, redis+sentinel://, redis+cluster://; memory:// outside production only)")
    return f"{scheme.lower()}://{rest}"


def check(values: Values) -> None:
    values["RATELIMIT_STORAGE_URI"] = _storage_uri(values["RATELIMIT_STORAGE_URI"])
    for name in ("RATELIMIT_LOGIN", "RATELIMIT_REGISTER"):
        check_rate_limit(name, values[name])
    if is_production(values) and values["RATELIMIT_STORAGE_URI"].startswith("memory://"):
        raise ConfigError(
            "RATELIMIT_STORAGE_URI='memory://': production needs shared storage such as redis://host:6379/0"
        )


def finalise(values: Values, instance_path: Path) -> None:
    values.update(
        RATELIMIT_STORAGE_OPTIONS=storage_options(values),
        # Flask-Limiter's headers would overwrite Retry-After on every response of a limited route, even
        # a 200 or our own per-account 429; errors.handle_rate_limit sets it on its 429s instead.
        RATELIMIT_HEADERS_ENABLED=False,
        RATELIMIT_KEY_PREFIX="portal",
    )


FEATURE = Feature("rate_limits", SETTINGS, check=check, finalise=finalise)
