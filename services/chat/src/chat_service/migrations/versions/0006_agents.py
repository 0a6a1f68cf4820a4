"""agents: named participants with a model and instructions; dialogs and messages say who answers

A dialog's `system_prompt` (the global prompt copied at its creation) becomes its own
`instructions`, empty: the prompt is now the built-in assistant's, which follows the settings.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kit.db

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("handle", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=True),
        sa.Column("instructions", sa.Text(), nullable=False),
        sa.Column("temperature", sa.Float(), nullable=True),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=True),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("owner", "handle"),
    )
    op.create_index("ix_agent_created_by", "agent", ["created_by"])
    with op.batch_alter_table("dialog") as batch:
        batch.add_column(sa.Column("instructions", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("agent_id", sa.Uuid(), nullable=True))
        batch.drop_column("system_prompt")
    with op.batch_alter_table("message") as batch:
        batch.add_column(sa.Column("agent", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.drop_column("agent")
    with op.batch_alter_table("dialog") as batch:
        batch.add_column(sa.Column("system_prompt", sa.Text(), nullable=False, server_default=""))
        batch.drop_column("agent_id")
        batch.drop_column("instructions")
    op.drop_index("ix_agent_created_by", table_name="agent")
    op.drop_table("agent")
