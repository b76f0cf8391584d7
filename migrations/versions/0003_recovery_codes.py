"""Recovery codes, stored as Argon2id hashes with a non-secret selector.

Revision ID: 0003_recovery_codes
Revises: 0002_totp_audit
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_recovery_codes"
down_revision = "0002_totp_audit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("selector", sa.String(length=8), nullable=False),
        sa.Column("code_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_recovery_codes_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_codes")),
    )
    op.create_index("ix_recovery_codes_user_selector", "recovery_codes", ["user_id", "selector"])


def downgrade() -> None:
    op.drop_index("ix_recovery_codes_user_selector", table_name="recovery_codes")
    op.drop_table("recovery_codes")
