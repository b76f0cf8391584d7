"""The future step an authenticator code was reported for as clock skew, so that code stays refused.

Revision ID: 0005_totp_skew
Revises: 0004_sms
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_totp_skew"
down_revision = "0004_sms"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("totp_factors", sa.Column("burned_step", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    # SQLite ≥ 3.35 drops an unindexed column in place; the table (and its partial indexes) is not rebuilt.
    op.drop_column("totp_factors", "burned_step")
