"""messages: `generating` is no longer stored (Redis's lease says it); the unanswered indexed

A message is `queued` in the database until its outcome is stored; chat's sweep reads the
unanswered ones every interval, through a partial index of them alone.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

QUEUED = sa.text("status = 'queued'")


def upgrade() -> None:
    op.execute("UPDATE message SET status = 'queued' WHERE status = 'generating'")
    op.create_index(
        "ix_message_unanswered",
        "message",
        ["created_at"],
        sqlite_where=QUEUED,
        postgresql_where=QUEUED,
    )


def downgrade() -> None:
    op.drop_index("ix_message_unanswered", table_name="message")
