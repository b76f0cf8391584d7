"""Database settings: the URL (PostgreSQL in production, SQLite otherwise) and the connection pool."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from portal.settings.base import ConfigError, Feature, Setting, Values, is_production, parse_bool, parse_int, parse_str

DATABASE_DRIVERS = ("postgresql+psycopg", "sqlite", "sqlite+pysqlite")

SETTINGS: tuple[Setting, ...] = (
    Setting("DATABASE_URL", None, parse_str,
            "SQLAlchemy URL. Default: SQLite file instance/portal.sqlite3. postgresql:// uses psycopg 3.",
            secret=True),
    Setting("DATABASE_POOL_SIZE", 8, parse_int,
            "Connections each process keeps open to PostgreSQL (SQLAlchemy pool_size); give each gunicorn worker "
            "at least its thread count.", minimum=1, maximum=100),
    Setting("DATABASE_MAX_OVERFLOW", 5, parse_int,
            "Extra PostgreSQL connections a process may open under a burst (SQLAlchemy max_overflow).",
            minimum=0, maximum=100),
    Setting("DATABASE_POOL_TIMEOUT", 10, parse_int,
            "Seconds a request waits for a free database connection before it fails with 503.",
            minimum=1, maximum=120),
    Setting("DATABASE_CONNECT_TIMEOUT", 5, parse_int,
            "Seconds to wait when opening a PostgreSQL connection.", minimum=1, maximum=60),
    Setting("ALLOW_SQLITE_IN_PRODUCTION", False, parse_bool,
            "Let production run on SQLite (single host only)."),
)


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs that name no driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def engine_options(values: Values) -> dict[str, Any]:
    """SQLAlchemy engine options: a bounded pool with timeouts on PostgreSQL; SQLite keeps its defaults."""
    options: dict[str, Any] = {"pool_pre_ping": True}
    if not normalise_database_url(values["DATABASE_URL"] or "sqlite://").startswith("sqlite"):
        options.update(pool_size=values["DATABASE_POOL_SIZE"], max_overflow=values["DATABASE_MAX_OVERFLOW"],
                       pool_timeout=values["DATABASE_POOL_TIMEOUT"],
                       connect_args={"connect_timeout": values["DATABASE_CONNECT_TIMEOUT"]})
    return options


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


def check(values: Values) -> None:
    url = values["DATABASE_URL"]
    if url:
        _check_database_url(url)
    on_sqlite = not url or url.startswith("sqlite")
    if is_production(values) and on_sqlite and not values["ALLOW_SQLITE_IN_PRODUCTION"]:
        raise ConfigError(
            "DATABASE_URL: production runs on PostgreSQL; set DATABASE_URL=postgresql://… "
            "or ALLOW_SQLITE_IN_PRODUCTION=true"
        )


def finalise(values: Values, instance_path: Path) -> None:
    if not values["DATABASE_URL"]:
        instance_path.mkdir(parents=True, exist_ok=True)
        values["DATABASE_URL"] = f"sqlite:///{instance_path / 'portal.sqlite3'}"
    values.update(
        SQLALCHEMY_DATABASE_URI=normalise_database_url(values["DATABASE_URL"]),
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(values),
    )


FEATURE = Feature("database", SETTINGS, check=check, finalise=finalise)
