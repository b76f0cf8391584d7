"""portal.settings: every feature's table read from the environment and overrides; start-up failure on bad values.

The start-up checks of each feature are in test_settings_checks.py (SMS: test_sms_settings.py, tencent).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from portal import create_app
from portal.settings import FEATURES, SETTINGS, SETTINGS_BY_NAME, ConfigError, Setting, base, finalise, read_settings
from tests.conftest import app_settings
from tests.unit.test_import_cycles import PORTAL, import_edges

ROOT = Path(__file__).resolve().parents[2]
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"


# --- the tables ----------------------------------------------------------------------------------


def test_each_setting_belongs_to_one_feature() -> None:
    assert len(SETTINGS_BY_NAME) == len(SETTINGS)
    assert len({feature.name for feature in FEATURES}) == len(FEATURES)


def test_features_import_the_base_and_the_base_no_feature() -> None:
    # Only portal/settings/__init__.py knows every feature (FEATURES); a feature knows the base alone.
    edges = [e for e in import_edges(PORTAL) if e.source.startswith("portal.settings.")]
    assert edges
    assert [str(e) for e in edges if e.target != "portal.settings.base"] == []
    assert [str(e) for e in edges if e.source == "portal.settings.base"] == []


def test_a_bad_value_stops_start_up_before_anything_is_written(tmp_path: Path) -> None:
    # Every feature's check runs before any development fallback writes its key file or database to instance/.
    instance = tmp_path / "instance"
    with pytest.raises(ConfigError, match=r"^TOTP_ISSUER='Acme: Portal'"):
        finalise(read_settings({}, {"TOTP_ISSUER": "Acme: Portal"}), instance)
    with pytest.raises(ConfigError, match=r"^SMS_DEFAULT_REGION='XX'"):
        finalise(read_settings({}, {"SMS_DEFAULT_REGION": "XX"}), instance)
    assert not instance.exists()


# --- read_settings -------------------------------------------------------------------------------


def test_defaults_with_an_empty_environment() -> None:
    values = read_settings({})
    assert set(values) == set(SETTINGS_BY_NAME)
    assert values["PORTAL_ENV"] == "development"
    assert values["SECRET_KEY"] is None
    assert values["DATABASE_URL"] is None
    assert values["ALLOW_SQLITE_IN_PRODUCTION"] is False
    assert values["RATELIMIT_STORAGE_URI"] == "memory://"
    assert values["PROXY_HOPS"] == 0
    assert values["PASSWORD_MIN_LENGTH"] == 8
    assert values["PASSWORD_MAX_LENGTH"] == 128
    assert values["PENDING_SIGNIN_TTL"] == 600
    assert values["REMEMBER_ME_DAYS"] == 30
    assert values["SESSION_COOKIE_SECURE"] is None
    assert values["LANGUAGES"] == ("en", "zh_Hans")
    assert values["LOG_LEVEL"] == "INFO"


def test_environment_values_are_parsed_to_their_types() -> None:
    values = read_settings({
        "PENDING_SIGNIN_TTL": " 900 ",
        "PROXY_HOPS": "2",
        "ALLOW_SQLITE_IN_PRODUCTION": "yes",
        "SESSION_COOKIE_SECURE": "off",
        "LANGUAGES": " en , zh_Hans ,, ",
        "PORTAL_ENV": " production ",
        "LOG_LEVEL": "DEBUG",
    })
    assert values["PENDING_SIGNIN_TTL"] == 900
    assert values["PROXY_HOPS"] == 2
    assert values["ALLOW_SQLITE_IN_PRODUCTION"] is True
    assert values["SESSION_COOKIE_SECURE"] is False
    assert values["LANGUAGES"] == ("en", "zh_Hans")
    assert values["PORTAL_ENV"] == "production"
    assert values["LOG_LEVEL"] == "DEBUG"


@pytest.mark.parametrize(("raw", "expected"), [
    ("1", True), ("true", True), ("YES", True), (" On ", True),
    ("0", False), ("false", False), ("No", False), ("off", False), ("", False),
])
def test_bool_spellings(raw: str, expected: bool) -> None:
    assert read_settings({"ALLOW_SQLITE_IN_PRODUCTION": raw})["ALLOW_SQLITE_IN_PRODUCTION"] is expected


def test_overrides_beat_the_environment() -> None:
    environ = {"REMEMBER_ME_DAYS": "7", "LOG_LEVEL": "ERROR", "PROXY_HOPS": "1"}
    values = read_settings(environ, {"REMEMBER_ME_DAYS": 14, "LOG_LEVEL": "WARNING", "TESTING": True})
    assert values["REMEMBER_ME_DAYS"] == 14
    assert values["LOG_LEVEL"] == "WARNING"
    assert values["PROXY_HOPS"] == 1  # not overridden: the environment still counts
    assert values["TESTING"] is True  # keys that are not settings pass through


def test_string_overrides_are_parsed_and_checked() -> None:
    assert read_settings({}, {"REMEMBER_ME_DAYS": " 3 "})["REMEMBER_ME_DAYS"] == 3
    with pytest.raises(ConfigError, match=re.escape("REMEMBER_ME_DAYS=31")):
        read_settings({}, {"REMEMBER_ME_DAYS": 31})


def test_bad_int_names_key_and_value() -> None:
    with pytest.raises(ConfigError) as caught:
        read_settings({"PENDING_SIGNIN_TTL": "ten"})
    message = str(caught.value)
    assert "PENDING_SIGNIN_TTL" in message
    assert "'ten'" in message


@pytest.mark.parametrize(("key", "raw"), [
    ("REMEMBER_ME_DAYS", "31"),
    ("REMEMBER_ME_DAYS", "0"),
    ("PROXY_HOPS", "-1"),
    ("PROXY_HOPS", "6"),
    ("PENDING_SIGNIN_TTL", "59"),
    ("PORTAL_ENV", "staging"),
    ("PORTAL_ENV", "Production"),
    ("LOG_LEVEL", "verbose"),
    ("ALLOW_SQLITE_IN_PRODUCTION", "maybe"),
    ("SESSION_COOKIE_SECURE", "maybe"),
    ("ARGON2_TIME_COST", "3.5"),
])
def test_bad_values_name_key_and_value(key: str, raw: str) -> None:
    with pytest.raises(ConfigError) as caught:
        read_settings({key: raw})
    assert f"{key}={raw!r}" in str(caught.value)


@pytest.mark.parametrize(("key", "raw", "expected"), [
    ("REMEMBER_ME_DAYS", "30", 30),
    ("REMEMBER_ME_DAYS", "1", 1),
    ("PROXY_HOPS", "0", 0),
    ("PROXY_HOPS", "5", 5),
    ("PENDING_SIGNIN_TTL", "60", 60),
    ("PENDING_SIGNIN_TTL", "3600", 3600),
])
def test_range_limits_are_inclusive(key: str, raw: str, expected: int) -> None:
    assert read_settings({key: raw})[key] == expected


def test_the_connection_settings_are_flagged_secret() -> None:
    flagged = {s.name for s in SETTINGS if s.secret}
    assert {"SECRET_KEY", "DATABASE_URL", "RATELIMIT_STORAGE_URI"} <= flagged
    assert "LOG_LEVEL" not in flagged


@pytest.mark.parametrize("name", ["SECRET_KEY", "DATABASE_URL", "RATELIMIT_STORAGE_URI"])
def test_describe_hides_secret_values(name: str) -> None:
    shown = base.describe(SETTINGS_BY_NAME[name], "postgresql://portal:hunter2@db.internal/portal")
    assert shown == "(hidden)"
    assert "hunter2" not in shown


def test_describe_shows_other_values() -> None:
    assert base.describe(SETTINGS_BY_NAME["LOG_LEVEL"], "verbose") == "'verbose'"


def _read_with_a_secret_pin(parse: Any, environ: dict[str, str]) -> dict[str, Any]:
    # None of the real secret settings can fail (they are strings with no limits), so a feature with a
    # secret integer setting is read with the others to drive the failure paths of read().
    extra = Setting("TEST_SECRET_PIN", 1, parse, "test only", minimum=1, maximum=10, secret=True)
    return base.read((*FEATURES, base.Feature("test", (extra,))), environ)


def _parse_quietly(raw: str) -> int:
    if not raw.strip().isdigit():
        raise ValueError("expected a whole number")
    return int(raw)


def test_secret_setting_out_of_range_is_not_echoed() -> None:
    with pytest.raises(ConfigError) as caught:
        _read_with_a_secret_pin(base.parse_int, {"TEST_SECRET_PIN": "987654"})
    assert str(caught.value) == "TEST_SECRET_PIN=(hidden): must be at most 10"


def test_secret_setting_parse_failure_is_described_as_hidden() -> None:
    with pytest.raises(ConfigError) as caught:
        _read_with_a_secret_pin(_parse_quietly, {"TEST_SECRET_PIN": "hunter2"})
    assert str(caught.value) == "TEST_SECRET_PIN=(hidden): expected a whole number"


def test_secret_setting_parse_failure_with_int_is_not_echoed() -> None:
    with pytest.raises(ConfigError) as caught:
        _read_with_a_secret_pin(base.parse_int, {"TEST_SECRET_PIN": "hunter2"})
    assert "TEST_SECRET_PIN=(hidden)" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_password_min_above_max_fails() -> None:
    with pytest.raises(ConfigError) as caught:
        read_settings({"PASSWORD_MIN_LENGTH": "64", "PASSWORD_MAX_LENGTH": "32"})
    assert "PASSWORD_MIN_LENGTH=64" in str(caught.value)
    assert "PASSWORD_MAX_LENGTH=32" in str(caught.value)


def test_password_min_equal_to_max_is_allowed() -> None:
    values = read_settings({"PASSWORD_MIN_LENGTH": "64", "PASSWORD_MAX_LENGTH": "64"})
    assert values["PASSWORD_MIN_LENGTH"] == values["PASSWORD_MAX_LENGTH"] == 64


# --- start-up ------------------------------------------------------------------------------------


def test_create_app_reads_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PENDING_SIGNIN_TTL", "900")
    app = create_app(app_settings(f"sqlite:///{tmp_path / 'x.db'}"))
    assert app.config["PENDING_SIGNIN_TTL"] == 900


def test_create_app_refuses_a_bad_environment_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PENDING_SIGNIN_TTL", "ten")
    with pytest.raises(ConfigError, match=re.escape("PENDING_SIGNIN_TTL='ten'")):
        create_app(app_settings(f"sqlite:///{tmp_path / 'x.db'}"))


def test_wsgi_start_up_fails_without_a_production_key(tmp_path: Path) -> None:
    env = {name: value for name, value in os.environ.items() if name not in SETTINGS_BY_NAME}
    env.update(PORTAL_ENV="production", DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}", PYTHONDONTWRITEBYTECODE="1")
    result = subprocess.run(
        [str(VENV_PYTHON), "-c", "from wsgi import app"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 3
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("portal: configuration error: SECRET_KEY: production needs a random key")
    assert list(tmp_path.iterdir()) == []  # refused before the database was touched


def test_a_renamed_setting_left_in_place_stops_start_up():
    with pytest.raises(ConfigError, match="PROXY_FIX_X_FOR was renamed PROXY_HOPS"):
        read_settings({"PROXY_FIX_X_FOR": "1"})
