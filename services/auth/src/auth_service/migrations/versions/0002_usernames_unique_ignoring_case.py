"""Usernames are unique ignoring case (`alice` and `ALICE` were two accounts).

Existing clashes keep every account: the oldest keeps its username, each later one gets the
name with a short suffix from its id (`alice_3f9c2`, still at most 25 characters), which its
owner can change in Settings; sign-in is by email, so nobody is locked out.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

INDEX = "ix_user_account_username_lower"


def upgrade() -> None:
    conn = op.get_bind()
    users = sa.table(
        "user_account",
        sa.column("id", sa.Uuid),
        sa.column("username", sa.String),
        sa.column("created_at", sa.DateTime),
    )
    rows = conn.execute(
        sa.select(users.c.id, users.c.username).order_by(users.c.created_at, users.c.id)
    ).all()
    taken = {username.lower() for _, username in rows}
    seen: set[str] = set()
    for user_id, username in rows:
        if username.lower() not in seen:
            seen.add(username.lower())
            continue
        suffix = user_id.hex
        for length in range(5, 33):  # a longer suffix in the unlikely case of a new clash
            renamed = f"{username[: 24 - length]}_{suffix[:length]}"
            if renamed.lower() not in taken:
                break
        taken.add(renamed.lower())
        seen.add(renamed.lower())
        conn.execute(users.update().where(users.c.id == user_id).values(username=renamed))
    op.create_index(INDEX, "user_account", [sa.text("lower(username)")], unique=True)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="user_account")
