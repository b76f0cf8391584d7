"""Settings by feature: each module is one feature's typed table next to its checks; FEATURES lists them.

Each key is read from the environment variable of the same name; create_app(overrides) beats both. A bad
value stops start-up with a ConfigError that names the key and the value (secrets are never echoed).
Features import portal.settings.base and nothing else of the portal; base imports no feature.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from portal.settings import admin, core, database, factors, mail, passwords, rate_limits, sessions, sms, totp
from portal.settings.base import ConfigError, Feature, Setting, Values, read, settle

# The order the start-up checks run in, so the first bad value reported is the most basic one (the README's
# settings table lists the keys in this order too).
FEATURES: tuple[Feature, ...] = (
    core.FEATURE,
    rate_limits.FEATURE,
    database.FEATURE,
    passwords.FEATURE,
    sessions.FEATURE,
    admin.FEATURE,
    factors.FEATURE,
    totp.FEATURE,
    sms.FEATURE,
    mail.FEATURE,
)

SETTINGS: tuple[Setting, ...] = tuple(setting for feature in FEATURES for setting in feature.settings)
SETTINGS_BY_NAME: Mapping[str, Setting] = {s.name: s for s in SETTINGS}


def read_settings(environ: Mapping[str, str], overrides: Mapping[str, Any] | None = None) -> Values:
    """Return every setting: overrides beat the environment, which beats the default."""
    return read(FEATURES, environ, overrides)


def finalise(values: Values, instance_path: Path) -> Values:
    """Enforce each feature's start-up rules, then add development fallbacks and Flask's own keys."""
    return settle(FEATURES, values, instance_path)


__all__ = ["FEATURES", "SETTINGS", "SETTINGS_BY_NAME", "ConfigError", "Setting", "finalise", "read_settings"]
