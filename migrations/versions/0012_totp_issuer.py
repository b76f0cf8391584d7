"""The issuer each authenticator app was given, so pages name the entry the app shows in any language.

Revision ID: 0012_totp_issuer
Revises: 0011_held_forms_ended_sessions
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_totp_issuer"
down_revision = "0011_held_forms_ended_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL for the apps set up before: they were given TOTP_ISSUER, or "2FA Portal" (portal/factors/totp.py).
    op.add_column("totp_factors", sa.Column("issuer", sa.Text(), nullable=True))


def downgrade() -> None:
    # SQLite ≥ 3.35 drops an unindexed column in place; the table (and its partial indexes) is not rebuilt.
    op.drop_column("totp_factors", "issuer")
