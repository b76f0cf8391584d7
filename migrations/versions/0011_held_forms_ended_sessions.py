"""An admin's form survives the step-up (user_sessions.held_form); a session ended by an admin says why
(ended_sessions).

Revision ID: 0011_held_forms_ended_sessions
Revises: 0010_audit_case_reference
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_held_forms_ended_sessions"
down_revision = "0010_audit_case_reference"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("user_sessions", sa.Column("held_form", sa.JSON(), nullable=True))
    op.create_table(
        "ended_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_ended_sessions")),
    )
    op.create_index(op.f("ix_ended_sessions_expires_at"), "ended_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_ended_sessions_expires_at"), table_name="ended_sessions")
    op.drop_table("ended_sessions")
    # SQLite ≥ 3.35 drops an unindexed column in place.
    op.drop_column("user_sessions", "held_form")
