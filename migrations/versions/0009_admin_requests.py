"""A second admin's approval before 2FA is disabled (ADMIN_DISABLE_REQUIRES_SECOND_ADMIN).

Revision ID: 0009_admin_requests
Revises: 0008_email_search
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_admin_requests"
down_revision = "0008_email_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "admin_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_ip", sa.String(length=64), nullable=True),
        sa.Column("identity_check", sa.String(length=32), nullable=False),
        sa.Column("case_reference", sa.String(length=100), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["target_id"], ["users.id"], name=op.f("fk_admin_requests_target_id_users"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["requested_by_id"], ["users.id"],
                                name=op.f("fk_admin_requests_requested_by_id_users"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"], name=op.f("fk_admin_requests_decided_by_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_requests")),
    )
    op.create_index(op.f("ix_admin_requests_requested_at"), "admin_requests", ["requested_at"])
    op.create_index("uq_admin_requests_pending", "admin_requests", ["target_id"], unique=True,
                    sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))


def downgrade() -> None:
    op.drop_index("uq_admin_requests_pending", table_name="admin_requests")
    op.drop_index(op.f("ix_admin_requests_requested_at"), table_name="admin_requests")
    op.drop_table("admin_requests")
