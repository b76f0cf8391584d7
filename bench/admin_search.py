"""Admin user search at a million users on PostgreSQL: server time per query, and the plan it used.

Run: make bench   (or .venv/bin/python bench/admin_search.py [--users N] [--repeat R])
Seeds N users with COPY into a private schema of BENCH_DATABASE_URL (default: the local test database),
applies the migrations, then times queries.users_matching (both of its queries) for typical needles.
The schema is dropped afterwards.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg
from flask_migrate import upgrade
from sqlalchemy import event

from portal import create_app
from portal.admin import queries
from portal.extensions import db
from portal.settings.totp import fernet_key

BASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
DOMAINS = ("example.com", "corp.example", "mail.example.org", "uni.example.edu", "shop.example.net")


def cases(n: int) -> tuple[tuple[str, str, int], ...]:
    """(label, needle, page): common and exact prefixes, common, rare and absent substrings, a deep page."""
    return (
        ("no needle, first page", "", 1),
        ("prefix, common (user00)", "user00", 1),
        ("prefix, exact address", f"user{n // 2:07d}@", 1),
        ("substring, common (example.org)", "example.org", 1),
        ("substring, rare", f"r{n * 7 // 9:07d}"[-8:], 1),
        ("substring, none (zzzqqq)", "zzzqqq", 1),
        ("prefix then substring, page 20", "user09", 20),
    )


def seed(conn: psycopg.Connection, schema: str, n: int) -> None:
    with conn.cursor().copy(f'COPY "{schema}".users (email, password_hash, is_admin, created_at, factor_failures) '
                            "FROM STDIN") as copy:
        for i in range(n):
            copy.write_row((f"user{i:07d}@{DOMAINS[i % len(DOMAINS)]}", "x", False, "2026-12-01 00:00:00+00", 0))
    conn.execute(f'ANALYZE "{schema}".users')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    schema = f"bench_{secrets.token_hex(4)}"
    with psycopg.connect(BASE_URL, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    url = BASE_URL.replace("postgresql://", "postgresql+psycopg://", 1) + f"?options=-csearch_path%3D{schema}"
    try:
        app = create_app({"PORTAL_ENV": "testing", "SECRET_KEY": "bench-" + "x" * 40, "DATABASE_URL": url,
                          "TOTP_ENCRYPTION_KEYS": (fernet_key(),)})
        with app.app_context():
            upgrade()
            started = time.perf_counter()
            with psycopg.connect(BASE_URL, autocommit=True) as conn:
                seed(conn, schema, args.users)
            print(f"seeded {args.users:,} users with COPY in {time.perf_counter() - started:.1f} s; PostgreSQL "
                  f"{db.session.execute(db.text('SHOW server_version')).scalar()}, schema {schema}")
            statements: list[str] = []
            event.listen(db.engine, "before_cursor_execute",
                         lambda _c, _cur, stmt, _p, _ctx, _m: statements.append(stmt))
            print(f"{'search':34} {'median ms':>10} {'p99 ms':>8} {'rows':>5} {'queries':>8}")
            for label, needle, page in cases(args.users):
                times = []
                for _ in range(args.repeat):
                    statements.clear()
                    db.session.rollback()
                    start = time.perf_counter()
                    found, _more = queries.users_matching(needle, page)
                    times.append((time.perf_counter() - start) * 1000)
                times.sort()
                p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
                print(f"{label:34} {statistics.median(times):10.2f} {p99:8.2f} {len(found):5d} {len(statements):8d}")
            if os.environ.get("BENCH_EXPLAIN"):
                for label, needle, page in cases(args.users):
                    print(f"--- {label}")
                    for stmt_text in _explain(needle, page):
                        print(stmt_text)
            db.session.rollback()
            db.engine.dispose()
    finally:
        with psycopg.connect(BASE_URL, autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _explain(needle: str, page: int) -> list[str]:
    """EXPLAIN ANALYZE of each statement users_matching runs (BENCH_EXPLAIN=1)."""
    captured: list[tuple[str, object]] = []

    def grab(_conn, _cur, stmt, params, _ctx, _many):
        captured.append((stmt, params))

    event.listen(db.engine, "before_cursor_execute", grab)
    try:
        queries.users_matching(needle, page)
    finally:
        event.remove(db.engine, "before_cursor_execute", grab)
    lines = []
    raw = db.session.connection().connection.dbapi_connection
    for stmt, params in captured:
        with raw.cursor() as cur:
            cur.execute("EXPLAIN (ANALYZE, BUFFERS OFF, COSTS OFF) " + stmt, params)
            lines += [row[0] for row in cur.fetchall()]
    return lines


if __name__ == "__main__":
    main()
