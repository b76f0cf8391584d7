"""portal.settings: the start-up checks of each feature (finalise), production's refusals first of all.

The SMS and Tencent Cloud checks have their own files: test_sms_settings.py and test_tencent_settings.py.
"""

from __future__ import annotations

import re
import secrets
import stat
from pathlib import Path
from typing import Any

import pytest

from portal.settings import ConfigError, core, finalise, read_settings
from portal.settings.database import normalise_database_url
from portal.settings.totp import fernet_key, is_fernet_key
from tests.support import PRODUCTION_SERVICES

GOOD_KEY = secrets.token_urlsafe(48)
PLACEHOLDER_KEY = "changeme-changeme-changeme-changeme-123"


# --- finalise ------------------------------------------------------------------------------------


def production(**overrides: Any) -> dict[str, Any]:
    """Settings for a production deployment that passes every check unless overridden."""
    return read_settings({}, {
        "PORTAL_ENV": "production",
        "SECRET_KEY": GOOD_KEY,
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
        "DATABASE_URL": "postgresql://portal@127.0.0.1:5432/portal",
        "TOTP_ENCRYPTION_KEYS": (fernet_key(),),
        **PRODUCTION_SERVICES,
        **overrides,
    })


def test_development_creates_a_private_key_file_and_reuses_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dev.sqlite3'}"
    first = finalise(read_settings({}, {"DATABASE_URL": url}), tmp_path)
    key_file = tmp_path / "secret_key"
    assert key_file.is_file()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first["SECRET_KEY"]) >= core.MIN_SECRET_KEY_LENGTH
    assert key_file.read_text().strip() == first["SECRET_KEY"]
    # the temporary files were removed; the TOTP encryption key is made the same way
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret_key", "totp_keys"]
    totp_file = tmp_path / "totp_keys"
    assert stat.S_IMODE(totp_file.stat().st_mode) == 0o600
    assert first["TOTP_ENCRYPTION_KEYS"] == (totp_file.read_text().strip(),)
    assert is_fernet_key(first["TOTP_ENCRYPTION_KEYS"][0])

    second = finalise(read_settings({}, {"DATABASE_URL": url}), tmp_path)
    assert second["SECRET_KEY"] == first["SECRET_KEY"]
    assert second["TOTP_ENCRYPTION_KEYS"] == first["TOTP_ENCRYPTION_KEYS"]


def test_a_development_key_file_that_is_no_fernet_key_stops_start_up(tmp_path: Path) -> None:
    (tmp_path / "totp_keys").write_text("edited-by-hand\n")
    with pytest.raises(ConfigError, match=r"^TOTP_ENCRYPTION_KEYS: key 1 is not a Fernet key"):
        finalise(read_settings({}, {"SECRET_KEY": GOOD_KEY, "DATABASE_URL": "sqlite:///:memory:"}), tmp_path)


def test_production_refuses_missing_or_bad_totp_keys(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^TOTP_ENCRYPTION_KEYS: production needs"):
        finalise(production(TOTP_ENCRYPTION_KEYS=()), tmp_path)
    with pytest.raises(ConfigError, match=r"^TOTP_ENCRYPTION_KEYS: key 2 is not a Fernet key") as caught:
        finalise(production(TOTP_ENCRYPTION_KEYS=(fernet_key(), "not-a-key-hunter2")), tmp_path)
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
    monkeypatch.setattr(core, "TRANSLATIONS", tmp_path / "translations")
    with pytest.raises(ConfigError, match=r"^LANGUAGES: zh_Hans not compiled; run make i18n-compile"):
        finalise(production(), tmp_path)
    assert finalise(read_settings({}), tmp_path)["LANGUAGES"] == ("en", "zh_Hans")  # development goes on
    (source / "messages.mo").write_bytes(b"")
    assert finalise(production(), tmp_path)["LANGUAGES"] == ("en", "zh_Hans")
    monkeypatch.setattr(core, "TRANSLATIONS", tmp_path / "missing")
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



def test_postgresql_gets_a_bounded_pool_and_redis_gets_timeouts_from_the_settings(tmp_path):
    values = read_settings({"DATABASE_URL": "postgresql://db.internal/portal", "DATABASE_POOL_SIZE": "8",
                            "DATABASE_MAX_OVERFLOW": "2", "DATABASE_POOL_TIMEOUT": "3",
                            "DATABASE_CONNECT_TIMEOUT": "4", "RATELIMIT_STORAGE_URI": "redis://cache:6379/0",
                            "RATELIMIT_STORAGE_TIMEOUT": "1"})
    final = finalise(values, tmp_path)
    assert final["SQLALCHEMY_ENGINE_OPTIONS"] == {"pool_pre_ping": True, "pool_size": 8, "max_overflow": 2,
                                                  "pool_timeout": 3, "connect_args": {"connect_timeout": 4}}
    assert final["RATELIMIT_STORAGE_OPTIONS"] == {"socket_connect_timeout": 1, "socket_timeout": 1}
    embedded = finalise(read_settings({}), tmp_path)
    assert embedded["SQLALCHEMY_ENGINE_OPTIONS"] == {"pool_pre_ping": True}  # SQLite keeps its own pool
    assert embedded["RATELIMIT_STORAGE_OPTIONS"] == {}
    with pytest.raises(ConfigError, match="DATABASE_POOL_SIZE"):
        read_settings({"DATABASE_POOL_SIZE": "0"})
