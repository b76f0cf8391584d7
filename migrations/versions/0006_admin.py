"""Admin area: when a session last proved a second factor, and each user's last sign-in.

Revision ID: 0006_admin
Revises: 0005_totp_skew
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_admin"
down_revision = "0005_totp_skew"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("user_sessions", sa.Column("factor_confirmed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("users", sa.Column("last_sign_in_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # SQLite ≥ 3.35 drops an unindexed column in place.
    op.drop_column("users", "last_sign_in_at")
    op.drop_column("user_sessions", "factor_confirmed_at")
