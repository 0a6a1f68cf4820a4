"""usage and budgets (docs/DESIGN.md §11): every answer's tokens, staff-set monthly budgets,
and the API key a message was posted with

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kit.db

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.add_column(sa.Column("key_id", sa.Uuid(), nullable=True))
    op.create_table(
        "usage_record",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("key_id", sa.Uuid(), nullable=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=True),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("estimated", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_usage_record_user_day", "usage_record", ["user_id", "day"])
    op.create_index("ix_usage_record_day", "usage_record", ["day"])
    op.create_table(
        "budget",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("monthly_tokens", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
    )


def downgrade() -> None:
    op.drop_table("budget")
    op.drop_index("ix_usage_record_day", table_name="usage_record")
    op.drop_index("ix_usage_record_user_day", table_name="usage_record")
    op.drop_table("usage_record")
    with op.batch_alter_table("message") as batch:
        batch.drop_column("key_id")
