"""portal.config: reading, checking and finalising settings; start-up failure on bad values."""

from __future__ import annotations

import os
import re
import secrets
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from portal import config, create_app
from portal.config import (
    SETTINGS,
    SETTINGS_BY_NAME,
    ConfigError,
    Setting,
    _describe,
    finalise,
    normalise_database_url,
    read_settings,
)
from tests.conftest import app_settings
from tests.support import PRODUCTION_SERVICES

ROOT = Path(__file__).resolve().parents[2]
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
GOOD_KEY = secrets.token_urlsafe(48)
PLACEHOLDER_KEY = "changeme-changeme-changeme-changeme-123"


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
    shown = _describe(SETTINGS_BY_NAME[name], "postgresql://portal:hunter2@db.internal/portal")
    assert shown == "(hidden)"
    assert "hunter2" not in shown


def test_describe_shows_other_values() -> None:
    assert _describe(SETTINGS_BY_NAME["LOG_LEVEL"], "verbose") == "'verbose'"


def _secret_setting(monkeypatch: pytest.MonkeyPatch, parse: Any) -> None:
    # None of the real secret settings can fail (they are strings with no limits), so a secret integer
    # setting is added to the table to drive the failure paths of read_settings.
    extra = Setting("TEST_SECRET_PIN", 1, parse, "test only", minimum=1, maximum=10, secret=True)
    monkeypatch.setattr(config, "SETTINGS", (*config.SETTINGS, extra))


def _parse_quietly(raw: str) -> int:
    if not raw.strip().isdigit():
        raise ValueError("expected a whole number")
    return int(raw)


def test_secret_setting_out_of_range_is_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    _secret_setting(monkeypatch, config._parse_int)
    with pytest.raises(ConfigError) as caught:
        read_settings({"TEST_SECRET_PIN": "987654"})
    assert str(caught.value) == "TEST_SECRET_PIN=(hidden): must be at most 10"


def test_secret_setting_parse_failure_is_described_as_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    _secret_setting(monkeypatch, _parse_quietly)
    with pytest.raises(ConfigError) as caught:
        read_settings({"TEST_SECRET_PIN": "hunter2"})
    assert str(caught.value) == "TEST_SECRET_PIN=(hidden): expected a whole number"


def test_secret_setting_parse_failure_with_int_is_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    _secret_setting(monkeypatch, config._parse_int)
    with pytest.raises(ConfigError) as caught:
        read_settings({"TEST_SECRET_PIN": "hunter2"})
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


# --- finalise ------------------------------------------------------------------------------------


def production(**overrides: Any) -> dict[str, Any]:
    """Settings for a production deployment that passes every check unless overridden."""
    return read_settings({}, {
        "PORTAL_ENV": "production",
        "SECRET_KEY": GOOD_KEY,
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
        "DATABASE_URL": "postgresql://portal@127.0.0.1:5432/portal",
        "TOTP_ENCRYPTION_KEYS": (config.fernet_key(),),
        **PRODUCTION_SERVICES,
        **overrides,
    })


def test_development_creates_a_private_key_file_and_reuses_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dev.sqlite3'}"
    first = finalise(read_settings({}, {"DATABASE_URL": url}), tmp_path)
    key_file = tmp_path / "secret_key"
    assert key_file.is_file()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first["SECRET_KEY"]) >= config.MIN_SECRET_KEY_LENGTH
    assert key_file.read_text().strip() == first["SECRET_KEY"]
    # the temporary files were removed; the TOTP encryption key is made the same way
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret_key", "totp_keys"]
    totp_file = tmp_path / "totp_keys"
    assert stat.S_IMODE(totp_file.stat().st_mode) == 0o600
    assert first["TOTP_ENCRYPTION_KEYS"] == (totp_file.read_text().strip(),)
    assert config.is_fernet_key(first["TOTP_ENCRYPTION_KEYS"][0])

    second = finalise(read_settings({}, {"DATABASE_URL": url}), tmp_path)
    assert second["SECRET_KEY"] == first["SECRET_KEY"]
    assert second["TOTP_ENCRYPTION_KEYS"] == first["TOTP_ENCRYPTION_KEYS"]


def test_production_refuses_missing_or_bad_totp_keys(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^TOTP_ENCRYPTION_KEYS: production needs"):
        finalise(production(TOTP_ENCRYPTION_KEYS=()), tmp_path)
    with pytest.raises(ConfigError, match=r"^TOTP_ENCRYPTION_KEYS: key 2 is not a Fernet key") as caught:
        finalise(production(TOTP_ENCRYPTION_KEYS=(config.fernet_key(), "not-a-key-hunter2")), tmp_path)
    assert "hunter2" not in str(caught.value)


def test_issuer_with_colon_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^TOTP_ISSUER='Acme: Portal'"):
        finalise(production(TOTP_ISSUER="Acme: Portal"), tmp_path)


def test_development_with_a_key_writes_no_file(tmp_path: Path) -> None:
    values = finalise(read_settings({}, {"SECRET_KEY": GOOD_KEY, "DATABASE_URL": "sqlite:///:memory:"}), tmp_path)
    assert values["SECRET_KEY"] == GOOD_KEY
    assert not (tmp_path / "secret_key").exists()


def test_development_cookies_are_not_secure_by_default(tmp_path: Path) -> None:
    values = finalise(read_settings({}, {"SECRET_KEY": GOOD_KEY, "DATABASE_URL": "sqlite:///:memory:"}), tmp_path)
    assert values["SESSION_COOKIE_SECURE"] is False
    assert values["SESSION_COOKIE_NAME"] == "session"
    assert values["SESSION_COOKIE_HTTPONLY"] is True


def test_development_without_database_url_uses_sqlite_in_the_instance_folder(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    values = finalise(read_settings({}, {"SECRET_KEY": GOOD_KEY}), instance)
    assert values["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance / 'portal.sqlite3'}"


@pytest.mark.parametrize("key", [
    pytest.param(None, id="missing"),
    pytest.param("", id="empty"),
    pytest.param(secrets.token_urlsafe(16), id="short"),  # 22 characters
    pytest.param(PLACEHOLDER_KEY, id="placeholder"),
    pytest.param("ab" * 20, id="two-characters"),  # long enough but only two distinct characters
    pytest.param("my-development-" + secrets.token_urlsafe(24), id="placeholder-word"),
])
def test_production_refuses_a_weak_secret_key(tmp_path: Path, key: str | None) -> None:
    with pytest.raises(ConfigError) as caught:
        finalise(production(SECRET_KEY=key), tmp_path)
    message = str(caught.value)
    assert message.startswith("SECRET_KEY:")
    if key:
        assert key not in message  # the key itself is never echoed
    assert not (tmp_path / "secret_key").exists()  # production never falls back to a generated key


def test_production_refuses_memory_rate_limit_storage(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^RATELIMIT_STORAGE_URI"):
        finalise(production(RATELIMIT_STORAGE_URI="memory://"), tmp_path)


@pytest.mark.parametrize(("uri", "expected"), [
    ("", r"=\(hidden\): expected redis://"), ("memory:", r"=\(hidden\): expected redis://"),
    ("junk://x", r"=\(hidden\): expected redis://"), ("redis", r"=\(hidden\): expected redis://"),
    ("memcached://m:11211", r"=\(hidden\): expected redis://"),
    ("MEMORY://", "='memory://': production needs shared storage"),
    ("Memory://x", "='memory://': production needs shared storage"),
])
def test_production_refuses_every_spelling_of_memory_and_unknown_storage(tmp_path: Path, uri: str,
                                                                        expected: str) -> None:
    # An empty or upper-case value must not slip past the check into Flask-Limiter's in-memory storage.
    with pytest.raises(ConfigError, match=r"^RATELIMIT_STORAGE_URI" + expected):
        finalise(production(RATELIMIT_STORAGE_URI=uri), tmp_path)


@pytest.mark.parametrize("uri", ["redis+sentinel://s1:26379,s2:26379/portal", "redis+cluster://c1:7000",
                                 "rediss://cache:6380/0", "redis+unix:///run/redis.sock?db=0"])
def test_every_redis_scheme_is_taken_with_timeouts(tmp_path: Path, uri: str) -> None:
    values = finalise(production(RATELIMIT_STORAGE_URI=uri), tmp_path)
    assert values["RATELIMIT_STORAGE_URI"] == uri
    assert values["RATELIMIT_STORAGE_OPTIONS"] == {"socket_connect_timeout": 2, "socket_timeout": 2}


def test_production_needs_the_compiled_catalogues(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A catalogue that was never compiled would serve its language in English without a word.
    source = tmp_path / "translations" / "zh_Hans" / "LC_MESSAGES"
    source.mkdir(parents=True)
    (source / "messages.po").write_text("")
    monkeypatch.setattr(config, "TRANSLATIONS", tmp_path / "translations")
    with pytest.raises(ConfigError, match=r"^LANGUAGES: zh_Hans not compiled; run make i18n-compile"):
        finalise(production(), tmp_path)
    assert finalise(read_settings({}), tmp_path)["LANGUAGES"] == ("en", "zh_Hans")  # development goes on
    (source / "messages.mo").write_bytes(b"")
    assert finalise(production(), tmp_path)["LANGUAGES"] == ("en", "zh_Hans")
    monkeypatch.setattr(config, "TRANSLATIONS", tmp_path / "missing")
    with pytest.raises(ConfigError, match=r"^LANGUAGES='en,zh_Hans': no catalogue for zh_Hans \(available: en\)"):
        finalise(read_settings({}), tmp_path)


def test_development_refuses_an_unknown_storage_and_lowers_the_scheme(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^RATELIMIT_STORAGE_URI"):
        finalise(read_settings({"RATELIMIT_STORAGE_URI": "junk://x"}), tmp_path)
    values = finalise(read_settings({"RATELIMIT_STORAGE_URI": "REDIS://cache:6379/0"}), tmp_path)
    assert values["RATELIMIT_STORAGE_URI"] == "redis://cache:6379/0"
    assert values["RATELIMIT_STORAGE_OPTIONS"] == {"socket_connect_timeout": 2, "socket_timeout": 2}
    assert finalise(read_settings({"RATELIMIT_STORAGE_URI": "MEMORY://"}), tmp_path)["RATELIMIT_STORAGE_URI"] \
        == "memory://"


@pytest.mark.parametrize("name", ["RATELIMIT_LOGIN", "RATELIMIT_REGISTER", "RATELIMIT_SMS"])
@pytest.mark.parametrize("limit", ["lots per whenever", "", "10 per minute,", "10 per fortnight"])
def test_a_limit_that_does_not_parse_stops_start_up(tmp_path: Path, name: str, limit: str) -> None:
    # Flask-Limiter would log an error at each request and let every request through.
    with pytest.raises(ConfigError, match=rf"^{name}={re.escape(repr(limit))}: not a rate limit"):
        finalise(read_settings({name: limit}), tmp_path)
    assert finalise(read_settings({name: "3/minute; 20 per day"}), tmp_path)[name] == "3/minute; 20 per day"


@pytest.mark.parametrize(("url", "expected"), [
    ("junk", "not a database URL"),
    ("://", "not a database URL"),
    ("postgresql://u:pw-secret@h:notaport/db", "not a database URL"),
    ("mysql://u:pw-secret@h/db", "not 'mysql'"),
    ("postgresql+psycopg2://u:pw-secret@h/db", "not 'postgresql+psycopg2'"),
    ("sqlitejunk://x", "not 'sqlitejunk'"),
])
def test_a_database_url_the_portal_cannot_use_stops_start_up(tmp_path: Path, url: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=r"^DATABASE_URL=\(hidden\): ") as caught:
        finalise(read_settings({"DATABASE_URL": url}), tmp_path)
    assert expected in str(caught.value)
    assert "pw-secret" not in str(caught.value)


@pytest.mark.parametrize(("languages", "expected"), [
    ("", "name at least one language"), (" , ", "name at least one language"),
    ("fr,de", "no catalogue for fr, de"), ("en,zh-Hans", "no catalogue for zh-Hans"),
])
def test_languages_without_a_catalogue_stop_start_up(tmp_path: Path, languages: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=r"^LANGUAGES=") as caught:
        finalise(read_settings({"LANGUAGES": languages}), tmp_path)
    assert expected in str(caught.value) and "(available: en, zh_Hans)" in str(caught.value)
    assert finalise(read_settings({"LANGUAGES": "zh_Hans,en"}), tmp_path)["LANGUAGES"] == ("zh_Hans", "en")


@pytest.mark.parametrize("sender", ["not an address", "@example.com", "a@b@c", "Sec <sec@example.com>\r\nBcc: x@y.z",
                                    "a@example.com, b@example.com", "Sec <s@example.com", "sec@example.com>"])
def test_a_sender_that_is_not_one_address_stops_start_up(tmp_path: Path, sender: str) -> None:
    with pytest.raises(ConfigError, match=r"^MAIL_FROM=.*: expected one address"):
        finalise(read_settings({}, {"MAIL_FROM": sender}), tmp_path)


@pytest.mark.parametrize("sender", ["security@example.com", "2FA Portal <no-reply@example.com>",
                                    '"Sec, Team" <s@example.com>', '"john doe"@example.com', "安全 <s@example.com>"])
def test_a_sender_in_any_form_of_one_address_is_taken(tmp_path: Path, sender: str) -> None:
    assert finalise(read_settings({"MAIL_FROM": sender}), tmp_path)["MAIL_FROM"] == sender


def test_production_needs_its_public_address_over_https(tmp_path: Path) -> None:
    # Without it, links in security notices would be built on the Host header, which the client chooses.
    with pytest.raises(ConfigError, match=r"^MAIL_SITE_URL: production needs the portal's public address"):
        finalise(production(MAIL_SITE_URL=""), tmp_path)
    with pytest.raises(ConfigError, match=r"^MAIL_SITE_URL='http://2fa.example.com': production links must use https"):
        finalise(production(MAIL_SITE_URL="http://2fa.example.com"), tmp_path)
    assert finalise(production(MAIL_SITE_URL="https://2fa.example.com/"), tmp_path)["MAIL_SITE_URL"] \
        == "https://2fa.example.com"


@pytest.mark.parametrize("url", ["javascript:alert(1)", "2fa.example.com", "https://", "https://u:p@2fa.example.com",
                                 "https://2fa.example.com/?next=x", "https://2fa.example.com/#x",
                                 "https://2fa.example.com:port", "ftp://2fa.example.com",
                                 "https://2fa.example.com/?", "https://2fa.example.com/#", "https://exa mple.com",
                                 "https://2fa.example.com:0", "https://2fa.example.com:70000", "https://-x.example"])
def test_a_public_address_that_is_not_one_stops_start_up(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigError, match=r"^MAIL_SITE_URL=.*: expected the portal's address"):
        finalise(read_settings({"MAIL_SITE_URL": url}), tmp_path)
    assert finalise(read_settings({"MAIL_SITE_URL": "http://127.0.0.1:5000"}), tmp_path)["MAIL_SITE_URL"] \
        == "http://127.0.0.1:5000"


@pytest.mark.parametrize("url", [None, "sqlite:///var/lib/portal/portal.sqlite3"])
def test_production_refuses_sqlite(tmp_path: Path, url: str | None) -> None:
    with pytest.raises(ConfigError, match=r"^DATABASE_URL"):
        finalise(production(DATABASE_URL=url), tmp_path)


def test_production_allows_sqlite_when_asked(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'prod.sqlite3'}"
    values = finalise(production(DATABASE_URL=url, ALLOW_SQLITE_IN_PRODUCTION="true"), tmp_path)
    assert values["SQLALCHEMY_DATABASE_URI"] == url


def test_production_refuses_insecure_cookies(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^SESSION_COOKIE_SECURE"):
        finalise(production(SESSION_COOKIE_SECURE="false"), tmp_path)


def test_valid_production_config(tmp_path: Path) -> None:
    values = finalise(production(), tmp_path)
    assert values["SECRET_KEY"] == GOOD_KEY
    assert values["SESSION_COOKIE_NAME"] == "__Host-session"
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["SESSION_COOKIE_PATH"] == "/"
    assert values["REMEMBER_COOKIE_SECURE"] is True
    assert values["REMEMBER_COOKIE_HTTPONLY"] is True
    assert values["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://portal@127.0.0.1:5432/portal"
    assert values["TESTING"] is False
    assert list(tmp_path.iterdir()) == []  # nothing written to the instance folder


@pytest.mark.parametrize(("url", "expected"), [
    ("postgres://u:p@db/portal", "postgresql+psycopg://u:p@db/portal"),
    ("postgresql://u:p@db/portal", "postgresql+psycopg://u:p@db/portal"),
    ("postgresql+psycopg://u@db/portal", "postgresql+psycopg://u@db/portal"),
    ("sqlite:///instance/portal.sqlite3", "sqlite:///instance/portal.sqlite3"),
    ("sqlite:///:memory:", "sqlite:///:memory:"),
])
def test_normalise_database_url(url: str, expected: str) -> None:
    assert normalise_database_url(url) == expected


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


def test_postgresql_gets_a_bounded_pool_and_redis_gets_timeouts_from_the_settings(tmp_path):
    values = read_settings({"DATABASE_URL": "postgresql://db.internal/portal", "DATABASE_POOL_SIZE": "8",
                            "DATABASE_MAX_OVERFLOW": "2", "DATABASE_POOL_TIMEOUT": "3",
                            "DATABASE_CONNECT_TIMEOUT": "4", "RATELIMIT_STORAGE_URI": "redis://cache:6379/0",
                            "RATELIMIT_STORAGE_TIMEOUT": "1"})
    final = config.finalise(values, tmp_path)
    assert final["SQLALCHEMY_ENGINE_OPTIONS"] == {"pool_pre_ping": True, "pool_size": 8, "max_overflow": 2,
                                                  "pool_timeout": 3, "connect_args": {"connect_timeout": 4}}
    assert final["RATELIMIT_STORAGE_OPTIONS"] == {"socket_connect_timeout": 1, "socket_timeout": 1}
    embedded = config.finalise(read_settings({}), tmp_path)
    assert embedded["SQLALCHEMY_ENGINE_OPTIONS"] == {"pool_pre_ping": True}  # SQLite keeps its own pool
    assert embedded["RATELIMIT_STORAGE_OPTIONS"] == {}
    with pytest.raises(config.ConfigError, match="DATABASE_POOL_SIZE"):
        read_settings({"DATABASE_POOL_SIZE": "0"})


def test_a_renamed_setting_left_in_place_stops_start_up():
    with pytest.raises(config.ConfigError, match="PROXY_FIX_X_FOR was renamed PROXY_HOPS"):
        read_settings({"PROXY_FIX_X_FOR": "1"})
