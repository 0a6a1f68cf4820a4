"""workspaces and their members (§10): every dialog moves into its maker's personal workspace
(made here for everyone who has one), private as before; messages keep their author's name

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

import kit.db

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# chat_service.workspaces.ids: a personal workspace's id is derived from its user's
PERSONAL_NAMESPACE = uuid.UUID("6f1d1c52-3b3e-4a59-9d0e-2f7c0b6a4d10")


def upgrade() -> None:
    op.create_table(
        "workspace",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("personal", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "workspace_member",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("username", sa.String(150), nullable=False),
        sa.Column("joined_at", kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("workspace_id", "user_id"),
    )
    op.create_index("ix_workspace_member_user", "workspace_member", ["user_id"])
    with op.batch_alter_table("dialog") as batch:
        batch.add_column(sa.Column("workspace_id", sa.Uuid(), nullable=True))
        batch.add_column(
            sa.Column("visibility", sa.String(16), nullable=False, server_default="private")
        )
    with op.batch_alter_table("message") as batch:
        batch.add_column(sa.Column("author_name", sa.String(150), nullable=False, server_default=""))

    bind = op.get_bind()
    dialog = sa.table("dialog", sa.column("user_id", sa.Uuid()), sa.column("workspace_id", sa.Uuid()))
    workspace = sa.table(
        "workspace",
        sa.column("id", sa.Uuid()),
        sa.column("name", sa.String()),
        sa.column("personal", sa.Boolean()),
        sa.column("created_by", sa.Uuid()),
        sa.column("created_at", kit.db.UTCDateTime(timezone=True)),
        sa.column("updated_at", kit.db.UTCDateTime(timezone=True)),
    )
    member = sa.table(
        "workspace_member",
        sa.column("workspace_id", sa.Uuid()),
        sa.column("user_id", sa.Uuid()),
        sa.column("role", sa.String()),
        sa.column("username", sa.String()),
        sa.column("joined_at", kit.db.UTCDateTime(timezone=True)),
    )
    now = kit.db.utcnow()
    users = [row[0] for row in bind.execute(sa.select(dialog.c.user_id).distinct())]
    for user_id in users:
        personal = uuid.uuid5(PERSONAL_NAMESPACE, str(user_id))
        bind.execute(
            workspace.insert().values(
                id=personal,
                name="Personal",
                personal=True,
                created_by=user_id,
                created_at=now,
                updated_at=now,
            )
        )
        bind.execute(
            member.insert().values(
                workspace_id=personal, user_id=user_id, role="owner", username="", joined_at=now
            )
        )
        bind.execute(
            dialog.update().where(dialog.c.user_id == user_id).values(workspace_id=personal)
        )
    with op.batch_alter_table("dialog") as batch:
        batch.alter_column("workspace_id", existing_type=sa.Uuid(), nullable=False)
        batch.create_index("ix_dialog_workspace_updated", ["workspace_id", "updated_at"])


def downgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.drop_column("author_name")
    with op.batch_alter_table("dialog") as batch:
        batch.drop_index("ix_dialog_workspace_updated")
        batch.drop_column("visibility")
        batch.drop_column("workspace_id")
    op.drop_index("ix_workspace_member_user", table_name="workspace_member")
    op.drop_table("workspace_member")
    op.drop_table("workspace")
