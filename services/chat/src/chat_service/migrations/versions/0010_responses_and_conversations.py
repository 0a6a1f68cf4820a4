"""OpenAI's responses, conversations and webhook endpoints (§12): a program's own prompt and the
response's request kept on its message, a conversation's metadata on its dialog, a name for
webhook endpoints

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kit.db

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.add_column(sa.Column("prompt", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("response", sa.JSON(), nullable=True))
    with op.batch_alter_table("dialog") as batch:
        batch.add_column(sa.Column("conversation_metadata", sa.JSON(), nullable=True))
    with op.batch_alter_table("webhook_endpoint") as batch:
        batch.add_column(sa.Column("name", sa.String(200), nullable=False, server_default=""))
        batch.add_column(sa.Column("updated_at", kit.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("webhook_endpoint") as batch:
        batch.drop_column("updated_at")
        batch.drop_column("name")
    with op.batch_alter_table("dialog") as batch:
        batch.drop_column("conversation_metadata")
    with op.batch_alter_table("message") as batch:
        batch.drop_column("response")
        batch.drop_column("prompt")
