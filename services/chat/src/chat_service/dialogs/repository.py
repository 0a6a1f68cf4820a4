from __future__ import annotations

import uuid

from sqlmodel import col, delete, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from chat_service.models import Dialog
from kit.pagination import Position, newest_first


async def page(
    session: AsyncSession,
    user_id: uuid.UUID,
    workspace_id: uuid.UUID,
    after: Position | None,
    limit: int,
    search: str | None,
) -> list[Dialog]:
    """The workspace's dialogs the user may read (their own and the shared ones), most recently
    active first, after the cursor position (`limit` + 1: `kit.pagination`)."""
    query = select(Dialog).where(
        Dialog.workspace_id == workspace_id,
        or_(Dialog.user_id == user_id, Dialog.visibility == "workspace"),
        col(Dialog.hidden).is_(False),
    )
    if search:
        query = query.where(col(Dialog.name).icontains(search, autoescape=True))
    query = newest_first(query, col(Dialog.updated_at), col(Dialog.id), after, limit)
    return list((await session.exec(query)).all())


async def delete_for_user(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Every dialog of the user (their messages and idempotency keys go with them)."""
    await session.exec(delete(Dialog).where(col(Dialog.user_id) == user_id))
