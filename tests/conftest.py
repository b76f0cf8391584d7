"""Fixtures: the app on SQLite or PostgreSQL (migrated once per run), a clock, clients, user factories."""

from __future__ import annotations

import os
import secrets
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_migrate import upgrade

from portal import create_app
from portal.extensions import db
from portal.models import User
from portal.settings.totp import fernet_key
from tests import netguard
from tests.support import GOOD_PASSWORD, FakeClock, FixedCodeMethod

pytest_plugins = ["tests.twilio_double.fixtures", "tests.tencent_double.fixtures"]

netguard.install()  # Security: an autouse guard for the whole run, before any fixture opens a socket

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
TEST_SECRET = "test-" + secrets.token_urlsafe(40)
TEST_TOTP_KEY = fernet_key()
CONSOLE_OUTBOX = Path(tempfile.gettempdir()) / f"portal-test-sms-{os.getpid()}-{secrets.token_hex(4)}.jsonl"
CHEAP_ARGON2 = {"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 64, "ARGON2_PARALLELISM": 1}


def missing_service(what: str) -> None:
    """In CI a missing service fails the run; on a laptop the tests that need it are skipped."""
    if IN_CI:
        pytest.fail(f"{what} is required in CI (CI=true) but is not available", pytrace=False)
    pytest.skip(f"{what} is not available")


def postgres_admin() -> Any:
    import psycopg

    try:
        return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        missing_service(f"PostgreSQL at {PG_ADMIN_URL} ({exc.__class__.__name__})")


def postgres_schema_url(schema: str) -> str:
    return PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://", 1) + f"?options=-csearch_path%3D{schema}"


class Database:
    """One database per backend per run: a temporary SQLite file, or a fresh PostgreSQL schema."""

    def __init__(self, backend: str, tmp: Path) -> None:
        self.backend = backend
        self.schema: str | None = None
        if backend == "sqlite":
            self.url = f"sqlite:///{tmp / 'portal-test.sqlite3'}"
        else:
            self.schema = f"t_{os.getpid()}_{secrets.token_hex(4)}"
            with postgres_admin() as conn:
                conn.execute(f'CREATE SCHEMA "{self.schema}"')
            self.url = postgres_schema_url(self.schema)

    def drop(self) -> None:
        if self.schema:
            with postgres_admin() as conn:
                conn.execute(f'DROP SCHEMA "{self.schema}" CASCADE')


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Database]]:
    made: dict[str, Database] = {}
    yield made
    for database in made.values():
        database.drop()


@pytest.fixture
def backend() -> str:
    """SQLite unless a test directory parametrises it (tests/integration runs both)."""
    return "sqlite"


@pytest.fixture
def database(backend: str, databases: dict[str, Database], tmp_path_factory: pytest.TempPathFactory) -> Database:
    if backend not in databases:
        database = Database(backend, tmp_path_factory.mktemp(backend))
        app = create_app(app_settings(database.url))
        with app.app_context():
            upgrade()
            db.engine.dispose()
        databases[backend] = database
    return databases[backend]


def app_settings(url: str, **extra: Any) -> dict[str, Any]:
    return {"PORTAL_ENV": "testing", "SECRET_KEY": TEST_SECRET, "DATABASE_URL": url,
            "RATELIMIT_STORAGE_URI": "memory://", "RATELIMIT_LOGIN": "1000 per minute",
            "RATELIMIT_REGISTER": "1000 per minute", "TOTP_ENCRYPTION_KEYS": (TEST_TOTP_KEY,),
            # The console SMS provider (the default) writes its texts here, never into the repo's instance/.
            "SMS_CONSOLE_OUTBOX": str(CONSOLE_OUTBOX),
            **CHEAP_ARGON2, **extra}


@pytest.fixture
def settings() -> dict[str, Any]:
    """Overrides a test module can extend before the app is built."""
    return {}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def second_factor() -> FixedCodeMethod:
    return FixedCodeMethod()


@pytest.fixture
def app(database: Database, settings: dict[str, Any], clock: FakeClock,
        second_factor: FixedCodeMethod) -> Iterator[Flask]:
    from portal import factors
    from portal.extensions import limiter

    app = create_app(app_settings(database.url, **settings))
    app.extensions["portal.clock"] = clock
    factors.register(app, second_factor)
    with app.app_context():
        limiter.reset()  # per-IP counters start at zero for every test
    yield app
    empty_tables(app)


def empty_tables(app: Flask) -> None:
    """Real commits happened: empty every table, children first, and close the pool."""
    with app.app_context():
        db.session.remove()
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()
        db.engine.dispose()


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """Serve app on a free loopback port from a thread (one thread per request); yield its base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def client(app: Flask) -> Any:
    return app.test_client()


@pytest.fixture
def make_user(app: Flask, clock: FakeClock) -> Any:
    from portal.crypto import passwords

    def make(email: str = "ada@example.com", password: str = GOOD_PASSWORD, **fields: Any) -> User:
        with app.app_context():
            user = User(email=email, password_hash=passwords().hash(password), created_at=clock(), **fields)
            db.session.add(user)
            db.session.commit()
            db.session.refresh(user)
            db.session.expunge(user)
            return user

    return make


@pytest.fixture
def enroll_second_factor(second_factor: FixedCodeMethod) -> Any:
    def enroll(user: User, code: str = "246810") -> str:
        second_factor.codes[user.id] = code
        return code

    return enroll


@pytest.fixture
def make_app(database: Database, clock: FakeClock) -> Iterator[Any]:
    """Build another app on the same database with other settings; its connections close after the test."""
    made: list[Flask] = []

    def make(**settings: Any) -> Flask:
        from portal.extensions import limiter

        extra = create_app(app_settings(database.url, **settings))
        extra.extensions["portal.clock"] = clock
        if extra.config["RATELIMIT_STORAGE_URI"].startswith("memory://"):
            with extra.app_context():
                limiter.reset()
        made.append(extra)
        return extra

    yield make
    for extra in made:
        with extra.app_context():
            db.engine.dispose()


@pytest.fixture
def redis_url() -> str:
    """The local Redis (rate-limit storage in production); fails in CI when it is down."""
    import redis

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        missing_service(f"Redis at {url} ({exc.__class__.__name__})")
    return url


@pytest.fixture
def alice(make_user: Any) -> User:
    return make_user("alice@example.com")


@pytest.fixture
def bob(make_user: Any) -> User:
    return make_user("bob@example.com")
