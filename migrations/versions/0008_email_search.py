"""Admin user search stays fast at a million users on PostgreSQL: a bytewise email column and a trigram index.

The unique index on users.email, in the "C" collation, serves prefix search and ordering; a GIN trigram
index (pg_trgm, a trusted extension shipped with PostgreSQL) serves substring search. SQLite, the embedded
database, needs neither.

Revision ID: 0008_email_search
Revises: 0007_sms_throttles
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import context, op

revision = "0008_email_search"
down_revision = "0007_sms_throttles"
branch_labels = None
depends_on = None


def _trgm_schema(conn: sa.Connection) -> str | None:
    return conn.execute(sa.text(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'pg_trgm'")).scalar()


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    op.alter_column("users", "email", type_=sa.String(320, collation="C"), existing_nullable=False)
    if context.is_offline_mode():  # `flask db upgrade --sql`: no database to ask where pg_trgm lives
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")
        op.execute("CREATE INDEX ix_users_email_trgm ON users USING gin (email public.gin_trgm_ops)")
        return
    schema = _trgm_schema(conn)
    if schema is None:
        # In "public", not the first schema on the search path, so one database can hold several portals' schemas.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")
        schema = _trgm_schema(conn) or "public"
    quoted = conn.dialect.identifier_preparer.quote_identifier(schema)
    op.execute(f"CREATE INDEX ix_users_email_trgm ON users USING gin (email {quoted}.gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_users_email_trgm", table_name="users")
    op.alter_column("users", "email", type_=sa.String(320), existing_nullable=False)
    # The extension stays: other schemas of this database may use it.
