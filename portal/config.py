"""Settings: one typed table; each key is read from the environment variable of the same name.

A bad value stops start-up with a ConfigError that names the key and the value (secrets are never echoed).
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENVIRONMENTS = ("development", "production", "testing")
DEV_KEY_FILE = "secret_key"
TOTP_KEY_FILE = "totp_keys"
MIN_SECRET_KEY_LENGTH = 32


class ConfigError(RuntimeError):
    """A setting has a value the portal cannot run with."""


# Parsers raise ValueError with a message of our own that never repeats the raw value (it may be secret).
def _parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("expected true or false")


def _parse_int(raw: str) -> int:
    text = raw.strip()
    if not re.fullmatch(r"-?[0-9]{1,12}", text):
        raise ValueError("expected a whole number")
    return int(text)


def _parse_str(raw: str) -> str:
    return raw.strip()


def _parse_list(raw: str) -> tuple[str, ...]:
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


SETTINGS: tuple[Setting, ...] = (
    Setting("PORTAL_ENV", "development", _parse_str, "development, production or testing.",
            choices=ENVIRONMENTS),
    Setting("SECRET_KEY", None, _parse_str,
            "Signs cookies and keys code hashes. Required in production (32+ characters); "
            "development creates one in instance/.", secret=True),
    Setting("DATABASE_URL", None, _parse_str,
            "SQLAlchemy URL. Default: SQLite file instance/portal.sqlite3. postgresql:// uses psycopg 3.",
            secret=True),
    Setting("DATABASE_POOL_SIZE", 8, _parse_int,
            "Connections each process keeps open to PostgreSQL (SQLAlchemy pool_size); give each gunicorn worker "
            "at least its thread count.", minimum=1, maximum=100),
    Setting("DATABASE_MAX_OVERFLOW", 5, _parse_int,
            "Extra PostgreSQL connections a process may open under a burst (SQLAlchemy max_overflow).",
            minimum=0, maximum=100),
    Setting("DATABASE_POOL_TIMEOUT", 10, _parse_int,
            "Seconds a request waits for a free database connection before it fails with 503.",
            minimum=1, maximum=120),
    Setting("DATABASE_CONNECT_TIMEOUT", 5, _parse_int,
            "Seconds to wait when opening a PostgreSQL connection.", minimum=1, maximum=60),
    Setting("ALLOW_SQLITE_IN_PRODUCTION", False, _parse_bool,
            "Let production run on SQLite (single host only)."),
    Setting("RATELIMIT_STORAGE_URI", "memory://", _parse_str,
            "Flask-Limiter storage: redis://, rediss://, redis+unix://, redis+sentinel:// or redis+cluster://, "
            "e.g. redis://127.0.0.1:6379/0. Production refuses memory://.",
            secret=True),
    Setting("RATELIMIT_STORAGE_TIMEOUT", 2, _parse_int,
            "Seconds to wait for Redis (connect and each command) before a limited route answers 503.",
            minimum=1, maximum=30),
    Setting("RATELIMIT_LOGIN", "10 per minute;100 per hour", _parse_str,
            "Per-IP limit on password attempts (Flask-Limiter syntax)."),
    Setting("RATELIMIT_REGISTER", "5 per minute;50 per day", _parse_str,
            "Per-IP limit on account creation."),
    Setting("PROXY_HOPS", 0, _parse_int,
            "Number of trusted reverse proxies in front of the portal (X-Forwarded-For hops).",
            minimum=0, maximum=5),
    Setting("ARGON2_TIME_COST", 3, _parse_int, "Argon2id iterations (RFC 9106 low-memory: 3).",
            minimum=1, maximum=20),
    Setting("ARGON2_MEMORY_COST", 65536, _parse_int, "Argon2id memory in KiB (RFC 9106 low-memory: 64 MiB).",
            minimum=8, maximum=4_194_304),
    Setting("ARGON2_PARALLELISM", 4, _parse_int, "Argon2id lanes (RFC 9106 low-memory: 4).",
            minimum=1, maximum=64),
    Setting("ARGON2_MAX_CONCURRENT", 2, _parse_int,
            "Argon2 hashes or verifications at once per process, in threads of lower CPU priority; the rest "
            "wait, so other pages keep their threads and the CPU, and memory stays at most this many times "
            "ARGON2_MEMORY_COST.", minimum=1, maximum=64),
    Setting("PASSWORD_MIN_LENGTH", 8, _parse_int, "Shortest password accepted.", minimum=8, maximum=128),
    Setting("PASSWORD_MAX_LENGTH", 128, _parse_int, "Longest password accepted.", minimum=8, maximum=1024),
    Setting("LOGIN_FREE_FAILURES", 5, _parse_int,
            "Wrong passwords per account before delays start (1, 2, 4 … s).", minimum=1, maximum=100),
    Setting("LOGIN_MAX_DELAY", 900, _parse_int, "Longest delay between password attempts, seconds.",
            minimum=1, maximum=86_400),
    Setting("PENDING_SIGNIN_TTL", 600, _parse_int, "Seconds a password-only (pending) sign-in lasts.",
            minimum=60, maximum=3600),
    Setting("PENDING_MAX_FAILURES", 5, _parse_int, "Wrong codes before a pending sign-in is dropped.",
            minimum=1, maximum=20),
    Setting("SESSION_IDLE_TIMEOUT", 7200, _parse_int, "Seconds of inactivity that end a session.",
            minimum=60, maximum=86_400 * 30),
    Setting("SESSION_MAX_AGE", 43_200, _parse_int, "Longest life of a session without remember-me, seconds.",
            minimum=300, maximum=86_400 * 30),
    Setting("REMEMBER_ME_DAYS", 30, _parse_int, "Life of a remembered session, days (at most 30).",
            minimum=1, maximum=30),
    Setting("FRESH_AUTH_SECONDS", 300, _parse_int,
            "How long a password confirmation counts for sensitive changes.", minimum=30, maximum=3600),
    Setting("MAX_CONTENT_LENGTH", 65_536, _parse_int, "Largest request body in bytes (413 above).",
            minimum=1024, maximum=16 * 1024 * 1024),
    Setting("SESSION_COOKIE_SECURE", None, _parse_bool,
            "Send cookies over HTTPS only. Default: on in production, off otherwise."),
    Setting("ADMIN_DISABLE_REQUIRES_SECOND_ADMIN", False, _parse_bool,
            "Turning off a user's 2FA in /admin waits for a different admin's approval (a request lapses after 24 "
            "hours). The break-glass CLI is not held back."),
    Setting("SECOND_FACTOR_FREE_FAILURES", 5, _parse_int,
            "Wrong second-factor codes per account (all methods) before delays start (1, 2, 4 … s).",
            minimum=1, maximum=50),
    Setting("SECOND_FACTOR_MAX_DELAY", 900, _parse_int, "Longest delay between second-factor attempts, seconds.",
            minimum=1, maximum=86_400),
    Setting("SECOND_FACTOR_LOCK_AT", 50, _parse_int,
            "Wrong codes after which every factor but a recovery code is locked until an admin resets it.",
            minimum=5, maximum=1000),
    Setting("TOTP_ISSUER", "2FA Portal", _parse_str,
            "Issuer shown in authenticator apps (no colon)."),
    Setting("TOTP_ENCRYPTION_KEYS", (), _parse_list,
            "Fernet keys (comma-separated, newest first) that encrypt TOTP secrets at rest. Required in "
            "production; development creates instance/totp_keys. Rotate: add a key in front, then run "
            "flask --app wsgi portal rotate-keys.", secret=True),
    Setting("TOTP_ENROLL_TTL", 600, _parse_int, "Seconds an unconfirmed authenticator setup lasts.",
            minimum=60, maximum=3600),
    Setting("TOTP_DRIFT_STEPS", 10, _parse_int,
            "How many 30 s steps beyond ±1 are checked to tell a user their phone's clock is off.",
            minimum=1, maximum=40),
    Setting("SMS_PROVIDER", "console", _parse_str,
            "Who sends SMS codes: twilio_verify, twilio_messaging, tencent (Tencent Cloud SMS, for mainland "
            "China), or console (development only: the server log and /dev/sms).",
            choices=("console", "twilio_verify", "twilio_messaging", "tencent")),
    Setting("SMS_CONSOLE_OUTBOX", "", _parse_str,
            "File where the console provider keeps its texts for /dev/sms. Default: instance/sms-outbox.jsonl."),
    Setting("TWILIO_ACCOUNT_SID", "", _parse_str, "Twilio account SID (AC…)."),
    Setting("TWILIO_AUTH_TOKEN", "", _parse_str, "Twilio auth token (or use an API key pair).", secret=True),
    Setting("TWILIO_API_KEY_SID", "", _parse_str, "Twilio API key SID (SK…); used instead of the auth token."),
    Setting("TWILIO_API_KEY_SECRET", "", _parse_str, "Secret of TWILIO_API_KEY_SID.", secret=True),
    Setting("TWILIO_VERIFY_SERVICE_SID", "", _parse_str, "Twilio Verify service SID (VA…) for twilio_verify."),
    Setting("TWILIO_MESSAGING_SERVICE_SID", "", _parse_str,
            "Messaging service SID (MG…) for twilio_messaging; or set TWILIO_FROM_NUMBER."),
    Setting("TWILIO_FROM_NUMBER", "", _parse_str, "Sender number in E.164 for twilio_messaging without a service."),
    Setting("TWILIO_BASE_URL", "", _parse_str,
            "Send Twilio API requests to this origin instead of Twilio's own hosts (a proxy, or the test double)."),
    Setting("TWILIO_TIMEOUT", 10, _parse_int, "HTTP timeout for Twilio requests, seconds.", minimum=1, maximum=10),
    Setting("TENCENT_SECRET_ID", "", _parse_str, "Tencent Cloud API key SecretId (AKID…) for SMS_PROVIDER=tencent."),
    Setting("TENCENT_SECRET_KEY", "", _parse_str, "Tencent Cloud API key SecretKey.", secret=True),
    Setting("TENCENT_SMS_SDK_APP_ID", "", _parse_str, "SMS application SdkAppId (1400…) in the Tencent Cloud console."),
    Setting("TENCENT_SMS_SIGN_NAME", "", _parse_str,
            "Approved SMS signature (签名) shown in 【】 at the start of each text; required for mainland numbers."),
    Setting("TENCENT_SMS_REGION", "ap-guangzhou", _parse_str, "Tencent Cloud region of the SMS API."),
    Setting("TENCENT_SMS_TEMPLATES", None, _parse_str,
            "JSON ids of approved mainland templates (for +86 numbers) per purpose (sign_in, enroll) and language, "
            "e.g. {\"sign_in\": {\"zh_Hans\": \"1234567\", \"en\": \"2345678\"}, \"enroll\": …}; each template "
            "takes the code as {1} and its minutes of validity as {2}."),
    Setting("TENCENT_SMS_INTERNATIONAL_TEMPLATES", None, _parse_str,
            "The same for approved international templates, used for every number outside mainland China; "
            "without them such numbers get no texts from tencent."),
    Setting("TENCENT_SMS_ENDPOINT", "https://sms.tencentcloudapi.com", _parse_str,
            "Origin of the Tencent Cloud SMS API (the test double in tests)."),
    Setting("TENCENT_SMS_TIMEOUT", 10, _parse_int, "HTTP timeout for Tencent Cloud requests, seconds.",
            minimum=1, maximum=10),
    Setting("SMS_TEMPLATES", None, _parse_str,
            "JSON texts for twilio_messaging and console per purpose (sign_in, enroll, generic) and language, "
            "each containing {{code}}. Default: built-in English and Chinese texts."),
    Setting("SMS_DEFAULT_REGION", "CN", _parse_str,
            "Country preselected on the phone form and assumed for numbers typed without +country code."),
    Setting("SMS_ALLOWED_COUNTRIES", (), _parse_list,
            "Countries (ISO codes, comma-separated) whose numbers may enroll; empty allows all."),
    Setting("SMS_RESEND_COOLDOWN", 60, _parse_int, "Seconds between two texts to one phone.",
            minimum=1, maximum=3600),
    Setting("SMS_CODE_TTL", 300, _parse_int,
            "Seconds a code we generate stays valid (twilio_messaging, tencent, console).", minimum=60, maximum=900),
    Setting("SMS_MAX_CHECKS", 5, _parse_int, "Wrong tries that kill a code we generated.", minimum=1, maximum=10),
    Setting("SMS_SENDS_PER_10_MINUTES", 5, _parse_int, "Texts per 10 minutes, per account and per number.",
            minimum=1, maximum=100),
    Setting("SMS_SENDS_PER_DAY", 10, _parse_int, "Texts per 24 hours per account.", minimum=1, maximum=1000),
    Setting("RATELIMIT_SMS", "10 per hour;30 per day", _parse_str,
            "Per-IP limit on sending texts (Flask-Limiter syntax)."),
    Setting("MAIL_BACKEND", "", _parse_str,
            "How security notices are emailed: smtp, or console (development: the server log). "
            "Default: smtp when MAIL_SERVER is set, else console.", choices=("", "smtp", "console")),
    Setting("MAIL_SERVER", "", _parse_str, "SMTP server host for security notices."),
    Setting("MAIL_PORT", 587, _parse_int, "SMTP server port.", minimum=1, maximum=65535),
    Setting("MAIL_USERNAME", "", _parse_str, "SMTP user name (empty: no login)."),
    Setting("MAIL_PASSWORD", "", _parse_str, "SMTP password.", secret=True),
    Setting("MAIL_USE_TLS", True, _parse_bool, "Use STARTTLS with the SMTP server."),
    Setting("MAIL_FROM", "2FA Portal <no-reply@localhost>", _parse_str,
            "Sender of security notices: an address, with a display name or without."),
    Setting("MAIL_TIMEOUT", 10, _parse_int, "SMTP timeout, seconds.", minimum=1, maximum=30),
    Setting("MAIL_SITE_URL", "", _parse_str,
            "The portal's public address (e.g. https://2fa.example.com) for links in emails and recovery-code "
            "files. Required in production (https); development uses the request's."),
    Setting("LANGUAGES", ("en", "zh_Hans"), _parse_list,
            "Languages offered, in order: en and the catalogues in portal/translations (zh_Hans)."),
    Setting("LOG_LEVEL", "INFO", _parse_str, "Python log level.",
            choices=("DEBUG", "INFO", "WARNING", "ERROR")),
)

SETTINGS_BY_NAME: Mapping[str, Setting] = {s.name: s for s in SETTINGS}


def _describe(setting: Setting, raw: object) -> str:
    return "(hidden)" if setting.secret else repr(raw)


def _check(setting: Setting, value: Any, raw: object) -> Any:
    shown = _describe(setting, raw)
    if setting.choices is not None and value not in setting.choices:
        raise ConfigError(f"{setting.name}={shown}: expected one of {', '.join(setting.choices)}")
    if isinstance(value, int) and not isinstance(value, bool):
        if setting.minimum is not None and value < setting.minimum:
            raise ConfigError(f"{setting.name}={shown}: must be at least {setting.minimum}")
        if setting.maximum is not None and value > setting.maximum:
            raise ConfigError(f"{setting.name}={shown}: must be at most {setting.maximum}")
    return value


RENAMED = {"PROXY_FIX_X_FOR": "PROXY_HOPS"}


def read_settings(environ: Mapping[str, str], overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Return every setting: overrides beat the environment, which beats the default."""
    overrides = dict(overrides or {})
    for old, new in RENAMED.items():
        if old in environ or old in overrides:
            # A renamed setting left in place must not silently fall back to its default (no proxy hops
            # would make every client the load balancer, sharing one set of per-IP limits).
            raise ConfigError(f"{old} was renamed {new}: set {new} instead")
    values: dict[str, Any] = {}
    for setting in SETTINGS:
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
            raise ConfigError(f"{setting.name}={_describe(setting, raw)}: {exc}") from None
        values[setting.name] = _check(setting, value, raw)
    values.update(overrides)  # Flask or extension keys that tests pass through as they are
    if values["PASSWORD_MIN_LENGTH"] > values["PASSWORD_MAX_LENGTH"]:
        raise ConfigError(
            f"PASSWORD_MIN_LENGTH={values['PASSWORD_MIN_LENGTH']!r} is above "
            f"PASSWORD_MAX_LENGTH={values['PASSWORD_MAX_LENGTH']!r}"
        )
    return values


def engine_options(values: dict[str, Any]) -> dict[str, Any]:
    """SQLAlchemy engine options: a bounded pool with timeouts on PostgreSQL; SQLite keeps its defaults."""
    options: dict[str, Any] = {"pool_pre_ping": True}
    if not normalise_database_url(values["DATABASE_URL"] or "sqlite://").startswith("sqlite"):
        options.update(pool_size=values["DATABASE_POOL_SIZE"], max_overflow=values["DATABASE_MAX_OVERFLOW"],
                       pool_timeout=values["DATABASE_POOL_TIMEOUT"],
                       connect_args={"connect_timeout": values["DATABASE_CONNECT_TIMEOUT"]})
    return options


def storage_options(values: dict[str, Any]) -> dict[str, Any]:
    """Flask-Limiter storage options: Redis gets connect and read timeouts, so a hung Redis means 503, not a hang."""
    if values["RATELIMIT_STORAGE_URI"].startswith("redis"):  # every Redis scheme: redis-py's timeouts
        timeout = values["RATELIMIT_STORAGE_TIMEOUT"]
        return {"socket_connect_timeout": timeout, "socket_timeout": timeout}
    return {}


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs that name no driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def fernet_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def is_fernet_key(key: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(key.encode())) == 32 and len(key) == 44
    except (ValueError, binascii.Error):
        return False


def development_secret_key(instance_path: Path, name: str = DEV_KEY_FILE,
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


def finalise(values: dict[str, Any], instance_path: Path) -> dict[str, Any]:
    """Derive Flask's own keys and enforce the production rules."""
    env = values["PORTAL_ENV"]
    production = env == "production"
    values["RATELIMIT_STORAGE_URI"] = _storage_uri(values["RATELIMIT_STORAGE_URI"])
    for name in RATE_LIMIT_SETTINGS:
        _check_rate_limit(name, values[name])
    if values["DATABASE_URL"]:
        _check_database_url(values["DATABASE_URL"])
    _check_languages(values["LANGUAGES"], production)
    _check_mail_from(values["MAIL_FROM"])
    if production:
        key = values["SECRET_KEY"]
        if not key or len(key) < MIN_SECRET_KEY_LENGTH or _looks_like_placeholder(key):
            raise ConfigError(
                "SECRET_KEY: production needs a random key of at least "
                f"{MIN_SECRET_KEY_LENGTH} characters (python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        if values["RATELIMIT_STORAGE_URI"].startswith("memory://"):
            raise ConfigError(
                "RATELIMIT_STORAGE_URI='memory://': production needs shared storage such as redis://host:6379/0"
            )
        on_sqlite = not values["DATABASE_URL"] or values["DATABASE_URL"].startswith("sqlite")
        if on_sqlite and not values["ALLOW_SQLITE_IN_PRODUCTION"]:
            raise ConfigError(
                "DATABASE_URL: production runs on PostgreSQL; set DATABASE_URL=postgresql://… "
                "or ALLOW_SQLITE_IN_PRODUCTION=true"
            )
        if not values["TOTP_ENCRYPTION_KEYS"]:
            raise ConfigError(
                "TOTP_ENCRYPTION_KEYS: production needs at least one Fernet key (python -c "
                "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
            )
    else:
        if not values["SECRET_KEY"]:
            values["SECRET_KEY"] = development_secret_key(instance_path)
        if not values["TOTP_ENCRYPTION_KEYS"]:
            values["TOTP_ENCRYPTION_KEYS"] = (development_secret_key(instance_path, TOTP_KEY_FILE, fernet_key),)
    for index, key in enumerate(values["TOTP_ENCRYPTION_KEYS"]):
        if not is_fernet_key(key):
            raise ConfigError(f"TOTP_ENCRYPTION_KEYS: key {index + 1} is not a Fernet key (32 url-safe base64 bytes)")
    if ":" in values["TOTP_ISSUER"] or not values["TOTP_ISSUER"]:
        raise ConfigError(f"TOTP_ISSUER={values['TOTP_ISSUER']!r}: must be non-empty and contain no colon")
    from portal.sms.settings import check_sms_settings

    check_sms_settings(values)
    if not values["MAIL_BACKEND"]:
        values["MAIL_BACKEND"] = "smtp" if values["MAIL_SERVER"] else "console"
    if values["MAIL_BACKEND"] == "smtp" and not values["MAIL_SERVER"]:
        raise ConfigError("MAIL_SERVER: MAIL_BACKEND='smtp' needs the SMTP server's host name")
    if production and values["MAIL_BACKEND"] == "console":
        raise ConfigError("MAIL_BACKEND='console': production emails security notices; set MAIL_SERVER "
                          "(and MAIL_USERNAME, MAIL_PASSWORD, MAIL_FROM)")
    values["MAIL_SITE_URL"] = _site_url(values["MAIL_SITE_URL"], production)
    if not values["DATABASE_URL"]:
        instance_path.mkdir(parents=True, exist_ok=True)
        values["DATABASE_URL"] = f"sqlite:///{instance_path / 'portal.sqlite3'}"
    secure = values["SESSION_COOKIE_SECURE"]
    values["SESSION_COOKIE_SECURE"] = production if secure is None else secure
    if production and not values["SESSION_COOKIE_SECURE"]:
        raise ConfigError("SESSION_COOKIE_SECURE=False: production cookies must be Secure")
    values.update(
        SQLALCHEMY_DATABASE_URI=normalise_database_url(values["DATABASE_URL"]),
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(values),
        RATELIMIT_STORAGE_OPTIONS=storage_options(values),
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
        # Flask-Limiter's headers would overwrite Retry-After on every response of a limited route, even
        # a 200 or our own per-account 429; errors.handle_rate_limit sets it on its 429s instead.
        RATELIMIT_HEADERS_ENABLED=False,
        RATELIMIT_KEY_PREFIX="portal",
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session that holds it
        BABEL_DEFAULT_LOCALE="en",
        BABEL_TRANSLATION_DIRECTORIES=str(TRANSLATIONS),
        TESTING=env == "testing" or bool(values.get("TESTING")),
    )
    return values


STORAGE_SCHEMES = ("redis", "rediss", "redis+unix", "redis+sentinel", "redis+cluster", "memory")
RATE_LIMIT_SETTINGS = ("RATELIMIT_LOGIN", "RATELIMIT_REGISTER", "RATELIMIT_SMS")
DATABASE_DRIVERS = ("postgresql+psycopg", "sqlite", "sqlite+pysqlite")
TRANSLATIONS = Path(__file__).parent / "translations"


def _storage_uri(uri: str) -> str:
    """The limiter's storage with its scheme in lower case (schemes ignore case; Flask-Limiter's lookup does not).

    An unknown scheme would otherwise end start-up in a traceback, and an empty one fall back to memory."""
    scheme, sep, rest = uri.partition("://")
    if not sep or scheme.lower() not in STORAGE_SCHEMES:
        raise ConfigError("RATELIMIT_STORAGE_URI=(hidden): expected redis://host:6379/0 (or rediss://, "
                          "redis+unix://, redis+sentinel://, redis+cluster://; memory:// outside production only)")
    return f"{scheme.lower()}://{rest}"


def _check_rate_limit(name: str, text: str) -> None:
    # Flask-Limiter logs an unparsable limit at each request and then lets the request through unlimited.
    from limits import parse_many

    try:
        parse_many(text)
    except ValueError:
        raise ConfigError(f"{name}={text!r}: not a rate limit; expected e.g. '10 per minute;100 per hour'") from None


def _check_database_url(url: str) -> None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(normalise_database_url(url))  # a port that is not a number fails here too
    except (ArgumentError, ValueError):
        raise ConfigError("DATABASE_URL=(hidden): not a database URL; expected postgresql://user@host:5432/name "
                          "or sqlite:///path/to/file") from None
    if parsed.drivername not in DATABASE_DRIVERS:
        raise ConfigError(f"DATABASE_URL=(hidden): the portal runs on PostgreSQL (postgresql://… with psycopg) "
                          f"or SQLite (sqlite:///…), not {parsed.drivername!r}")


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


def _check_mail_from(sender: str) -> None:
    """One address, as the From header will carry it (the email package's own parser: defects refused)."""
    from email.policy import default

    try:
        header = default.header_factory("From", sender)
        single = len(header.addresses) == 1 and not header.defects and "@" in header.addresses[0].addr_spec
    except (ValueError, IndexError, TypeError):
        single = False
    if any(c in sender for c in "\r\n") or not single:
        raise ConfigError(f"MAIL_FROM={sender!r}: expected one address such as 'Security <security@example.com>'")


def _site_url(url: str, production: bool) -> str:
    """The public address links are built on; the Host header is the client's to choose, so production needs it."""
    from urllib.parse import urlsplit

    if not url:
        if production:
            raise ConfigError("MAIL_SITE_URL: production needs the portal's public address (e.g. "
                              "https://2fa.example.com) for links in security notices and recovery-code files")
        return ""
    bad = ConfigError(f"MAIL_SITE_URL={url!r}: expected the portal's address, such as https://2fa.example.com")
    try:
        parts = urlsplit(url)
        port = parts.port  # a port that is not a number raises
    except ValueError:
        raise bad from None
    host = parts.hostname or ""
    if (parts.scheme not in ("http", "https") or (port is not None and not 1 <= port <= 65535)
            or "@" in parts.netloc or "?" in url or "#" in url
            or not re.fullmatch(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?|[0-9a-f:.]+", host)):
        raise bad
    if production and parts.scheme != "https":
        raise ConfigError(f"MAIL_SITE_URL={url!r}: production links must use https://")
    return url.rstrip("/")


PLACEHOLDER_WORDS = ("changeme", "change-me", "change_me", "replace-me", "your-secret", "secret-key",
                     "secret_key", "development", "example")


def _looks_like_placeholder(key: str) -> bool:
    """Refuse keys copied from documentation or typed by hand (few distinct characters)."""
    lowered = key.lower()
    return len(set(key)) < 12 or any(word in lowered for word in PLACEHOLDER_WORDS)
