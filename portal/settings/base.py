"""What every feature's settings are made of: Setting rows, parsers, and the read and start-up passes over them.

A bad value stops start-up with a ConfigError that names the key and the value (secrets are never echoed).
This module knows no feature: portal.settings lists them and hands them to read() and settle().
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Values = dict[str, Any]


class ConfigError(RuntimeError):
    """A setting has a value the portal cannot run with."""


# Parsers raise ValueError with a message of our own that never repeats the raw value (it may be secret).
def parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("expected true or false")


def parse_int(raw: str) -> int:
    text = raw.strip()
    if not re.fullmatch(r"-?[0-9]{1,12}", text):
        raise ValueError("expected a whole number")
    return int(text)


def parse_str(raw: str) -> str:
    return raw.strip()


def parse_list(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    parse: Callable[[str], Any]
    doc: str
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] | None = None
    secret: bool = False
    formerly: tuple[str, ...] = ()  # old names: still set, they stop start-up rather than being ignored


@dataclass(frozen=True)
class Feature:
    """One feature's table of settings and the checks that go with it.

    check_read: rules across the feature's own keys, applied as soon as they are read.
    check: at start-up, refuse bad values and normalise good ones; writes nothing.
    finalise: once every feature's check has passed, development fallbacks kept in instance/ and the Flask
    and extension keys derived from the settings.
    """

    name: str
    settings: tuple[Setting, ...]
    check_read: Callable[[Values], None] | None = None
    check: Callable[[Values], None] | None = None
    finalise: Callable[[Values, Path], None] | None = None


def describe(setting: Setting, raw: object) -> str:
    return "(hidden)" if setting.secret else repr(raw)


def _check(setting: Setting, value: Any, raw: object) -> Any:
    shown = describe(setting, raw)
    if setting.choices is not None and value not in setting.choices:
        raise ConfigError(f"{setting.name}={shown}: expected one of {', '.join(setting.choices)}")
    if isinstance(value, int) and not isinstance(value, bool):
        if setting.minimum is not None and value < setting.minimum:
            raise ConfigError(f"{setting.name}={shown}: must be at least {setting.minimum}")
        if setting.maximum is not None and value > setting.maximum:
            raise ConfigError(f"{setting.name}={shown}: must be at most {setting.maximum}")
    return value


def read(features: Iterable[Feature], environ: Mapping[str, str],
         overrides: Mapping[str, Any] | None = None) -> Values:
    """Return every feature's settings: overrides beat the environment, which beats the default."""
    features = tuple(features)
    settings = [setting for feature in features for setting in feature.settings]
    overrides = dict(overrides or {})
    for setting in settings:
        for old in setting.formerly:
            if old in environ or old in overrides:
                raise ConfigError(f"{old} was renamed {setting.name}: set {setting.name} instead")
    values: Values = {}
    for setting in settings:
        given = True
        if setting.name in overrides:
            raw: object = overrides.pop(setting.name)
        elif setting.name in environ:
            raw = environ[setting.name]
        else:
            raw, given = setting.default, False
        try:
            value = setting.parse(raw) if given and isinstance(raw, str) else raw
        except ValueError as exc:
            raise ConfigError(f"{setting.name}={describe(setting, raw)}: {exc}") from None
        values[setting.name] = _check(setting, value, raw)
    values.update(overrides)  # Flask or extension keys that tests pass through as they are
    for feature in features:
        if feature.check_read:
            feature.check_read(values)
    return values


def settle(features: Iterable[Feature], values: Values, instance_path: Path) -> Values:
    """Run every feature's start-up checks in order, then their fallbacks and derived keys; return values."""
    features = tuple(features)
    for feature in features:
        if feature.check:
            feature.check(values)
    for feature in features:
        if feature.finalise:
            feature.finalise(values, instance_path)
    return values


def is_production(values: Values) -> bool:
    env: str = values["PORTAL_ENV"]
    return env == "production"


def check_rate_limit(name: str, text: str) -> None:
    """A Flask-Limiter limit string, which Flask-Limiter itself would log at each request and then ignore."""
    from limits import parse_many

    try:
        parse_many(text)
    except ValueError:
        raise ConfigError(f"{name}={text!r}: not a rate limit; expected e.g. '10 per minute;100 per hour'") from None


def development_secret_key(instance_path: Path, name: str,
                           make: Callable[[], str] = lambda: secrets.token_urlsafe(48)) -> str:
    """Read a development key from instance/, creating it (mode 0600) on first use.

    The key is written to a private temporary file and linked into place, so processes starting
    together (gunicorn workers) all end up reading the one key that won.
    """
    instance_path.mkdir(parents=True, exist_ok=True)
    key_file = instance_path / name
    if not key_file.exists():
        tmp = instance_path / f".{name}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(make())
        try:
            os.link(tmp, key_file)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return key_file.read_text().strip()
