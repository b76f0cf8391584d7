"""Authenticator apps, the audit log, and per-account second-factor counters.

Revision ID: 0002_totp_audit
Revises: 0001_initial
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_totp_audit"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("factor_failures", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("factor_retry_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "totp_factors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_step", sa.BigInteger(), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_totp_factors_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_totp_factors")),
    )
    op.create_index("uq_totp_factors_confirmed", "totp_factors", ["user_id"], unique=True,
                    sqlite_where=sa.text("confirmed_at IS NOT NULL"),
                    postgresql_where=sa.text("confirmed_at IS NOT NULL"))
    op.create_index("uq_totp_factors_pending", "totp_factors", ["user_id"], unique=True,
                    sqlite_where=sa.text("confirmed_at IS NULL"), postgresql_where=sa.text("confirmed_at IS NULL"))
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_audit_events_actor_id_users"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["subject_id"], ["users.id"], name=op.f("fk_audit_events_subject_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index(op.f("ix_audit_events_at"), "audit_events", ["at"])
    op.create_index(op.f("ix_audit_events_subject_id"), "audit_events", ["subject_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_audit_events_subject_id"), table_name="audit_events")
    op.drop_index(op.f("ix_audit_events_at"), table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_index("uq_totp_factors_pending", table_name="totp_factors")
    op.drop_index("uq_totp_factors_confirmed", table_name="totp_factors")
    op.drop_table("totp_factors")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("factor_retry_at")
        batch.drop_column("factor_failures")
