"""The audit log is searched by case reference: an expression index on PostgreSQL.

Revision ID: 0010_audit_case_reference
Revises: 0009_admin_requests
Create Date: 2026-12-03
"""

from alembic import op

revision = "0010_audit_case_reference"
down_revision = "0009_admin_requests"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # Not partial: the planner keeps statistics for a full expression index (most rows are NULL, which a
        # B-tree stores compactly), so it knows a case reference is rare and uses the index.
        op.execute("CREATE INDEX ix_audit_events_case_reference ON audit_events ((details ->> 'case_reference'))")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_audit_events_case_reference", table_name="audit_events")
