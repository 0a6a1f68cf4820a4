from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from chat_service.models import Dialog


async def owned_dialog(
    session: AsyncSession, dialog_id: uuid.UUID, user_id: uuid.UUID
) -> Dialog | None:
    dialog = await session.get(Dialog, dialog_id)
    return dialog if dialog is not None and dialog.user_id == user_id else None


async def page(
    session: AsyncSession,
    user_id: uuid.UUID,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
    search: str | None,
) -> list[Dialog]:
    """The user's dialogs, most recently active first, after the cursor position."""
    query = select(Dialog).where(Dialog.user_id == user_id)
    if search:
        query = query.where(col(Dialog.name).icontains(search, autoescape=True))
    if after is not None:
        at, row_id = after
        query = query.where(
            or_(
                col(Dialog.updated_at) < at,
                (col(Dialog.updated_at) == at) & (col(Dialog.id) < row_id),
            )
        )
    rows = await session.exec(
        query.order_by(col(Dialog.updated_at).desc(), col(Dialog.id).desc()).limit(limit)
    )
    return list(rows.all())
