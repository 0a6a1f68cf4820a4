"""webhook endpoints: failing deliveries counted, a previous secret that still signs

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kit.db

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_endpoint", schema=None) as batch_op:
        batch_op.add_column(sa.Column("previous_secret", sa.String(length=100), nullable=True))
        batch_op.add_column(
            sa.Column("previous_secret_expires_at", kit.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("failed_deliveries", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("failing_since", kit.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_endpoint", schema=None) as batch_op:
        batch_op.drop_column("failing_since")
        batch_op.drop_column("failed_deliveries")
        batch_op.drop_column("previous_secret_expires_at")
        batch_op.drop_column("previous_secret")
