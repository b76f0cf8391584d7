"""Phones for SMS codes, the codes we generate (keyed hashes only), and the sends counted for caps.

Revision ID: 0004_sms
Revises: 0003_recovery_codes
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_sms"
down_revision = "0003_recovery_codes"
branch_labels = None
depends_on = None

CONFIRMED = sa.text("confirmed_at IS NOT NULL")
PENDING = sa.text("confirmed_at IS NULL")


def _user_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f(f"fk_{table}_user_id_users"),
                                   ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "sms_factors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_send_at", sa.DateTime(timezone=True), nullable=True),
        _user_fk("sms_factors"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_factors")),
    )
    op.create_index("uq_sms_factors_confirmed", "sms_factors", ["user_id"], unique=True,
                    sqlite_where=CONFIRMED, postgresql_where=CONFIRMED)
    op.create_index("uq_sms_factors_pending", "sms_factors", ["user_id"], unique=True,
                    sqlite_where=PENDING, postgresql_where=PENDING)
    op.create_table(
        "sms_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checks", sa.Integer(), server_default="0", nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        _user_fk("sms_codes"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_codes")),
    )
    op.create_index("uq_sms_codes_user_purpose", "sms_codes", ["user_id", "purpose"], unique=True)
    op.create_table(
        "sms_sends",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("phone_key", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        _user_fk("sms_sends"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_sends")),
    )
    op.create_index(op.f("ix_sms_sends_user_id"), "sms_sends", ["user_id"])
    op.create_index(op.f("ix_sms_sends_phone_key"), "sms_sends", ["phone_key"])
    op.create_index(op.f("ix_sms_sends_sent_at"), "sms_sends", ["sent_at"])


def downgrade() -> None:
    op.drop_table("sms_sends")
    op.drop_table("sms_codes")
    op.drop_table("sms_factors")
