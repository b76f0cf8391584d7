"""Migrations go up to head and down to base on both databases, and match the models."""

from __future__ import annotations

import io
import secrets
from contextlib import redirect_stdout

from alembic.script import ScriptDirectory
from flask_migrate import check, downgrade, upgrade
from sqlalchemy import inspect, text

from portal import create_app
from portal.extensions import db
from tests.conftest import app_settings, postgres_admin, postgres_schema_url

TABLES = {"users", "user_sessions", "login_throttle", "totp_factors", "audit_events", "recovery_codes", "sms_factors",
          "admin_requests", "ended_sessions",
          "sms_codes", "sms_sends", "sms_throttles"}


def fresh_url(backend, tmp_path):
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'migrations.sqlite3'}", None
    schema = f"m_{secrets.token_hex(6)}"
    with postgres_admin() as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return postgres_schema_url(schema), schema


def test_upgrade_downgrade_upgrade(backend, tmp_path):
    url, schema = fresh_url(backend, tmp_path)
    app = create_app(app_settings(url))
    try:
        with app.app_context():
            upgrade()
            assert set(inspect(db.engine).get_table_names()) >= TABLES
            output = io.StringIO()
            with redirect_stdout(output):
                check()  # the models and the migrations describe the same schema
            downgrade(revision="base")
            assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
            upgrade()
            head = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config()).get_current_head()
            with db.engine.connect() as conn:
                assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head
            db.engine.dispose()
    finally:
        if schema:
            with postgres_admin() as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def test_a_running_sms_cooldown_survives_the_move_to_sms_throttles(backend, tmp_path):
    url, schema = fresh_url(backend, tmp_path)
    app = create_app(app_settings(url))
    try:
        with app.app_context():
            upgrade(revision="0006_admin")
            with db.engine.begin() as conn:
                conn.execute(text("INSERT INTO users (id, email, password_hash, is_admin, created_at, factor_failures) "
                                  "VALUES (7, 'a@example.com', 'x', false, '2026-12-01 10:00:00+00', 0)"))
                for phone, confirmed in (("+8613800138000", "2026-12-01 10:00:00+00"), ("+8613900139000", None)):
                    conn.execute(text(
                        "INSERT INTO sms_factors (user_id, phone, created_at, confirmed_at, next_send_at) "
                        "VALUES (7, :phone, '2026-12-01 10:00:00+00', :confirmed, '2026-12-01 10:01:00+00')"),
                        {"phone": phone, "confirmed": confirmed})
            upgrade()
            with db.engine.connect() as conn:
                keys = sorted(conn.execute(text("SELECT key FROM sms_throttles")).scalars())
            assert keys == ["user:7:enroll", "user:7:sign_in"]
            assert "next_send_at" not in {c["name"] for c in inspect(db.engine).get_columns("sms_factors")}
            db.engine.dispose()
    finally:
        if schema:
            with postgres_admin() as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
