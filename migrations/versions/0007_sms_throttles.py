"""The SMS resend cooldown moves from the phone's row to one per account and purpose, kept when a number goes.

Revision ID: 0007_sms_throttles
Revises: 0006_admin
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_sms_throttles"
down_revision = "0006_admin"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sms_throttles",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("next_send_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sms_throttles")),
    )
    # A cooldown running now carries over: a confirmed phone's to sign-in codes, a pending one's to setup.
    op.execute(sa.text(
        "INSERT INTO sms_throttles (key, next_send_at) "
        "SELECT 'user' || :colon || CAST(user_id AS VARCHAR(20)) || "
        "CASE WHEN confirmed_at IS NULL THEN :enroll ELSE :sign_in END, next_send_at FROM sms_factors "
        "WHERE next_send_at IS NOT NULL"
    ).bindparams(colon=":", enroll=":enroll", sign_in=":sign_in"))
    op.drop_column("sms_factors", "next_send_at")


def downgrade() -> None:
    op.add_column("sms_factors", sa.Column("next_send_at", sa.DateTime(timezone=True), nullable=True))
    op.drop_table("sms_throttles")
