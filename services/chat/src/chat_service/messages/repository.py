from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import col, func, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from chat_service.models import IdempotencyKey, Message, MessageStatus


async def owned_message(
    session: AsyncSession, message_id: uuid.UUID, user_id: uuid.UUID
) -> Message | None:
    message = await session.get(Message, message_id)
    return message if message is not None and message.user_id == user_id else None


async def recent_exchanges(
    session: AsyncSession, dialog_id: uuid.UUID, limit: int, before: Message | None = None
) -> list[Message]:
    """The last `limit` answered exchanges of a dialog (before `before`), oldest first."""
    query = select(Message).where(
        Message.dialog_id == dialog_id, Message.status == MessageStatus.completed
    )
    if before is not None:
        query = query.where(
            or_(
                col(Message.created_at) < before.created_at,
                (col(Message.created_at) == before.created_at) & (col(Message.id) < before.id),
            )
        )
    rows = await session.exec(
        query.order_by(col(Message.created_at).desc(), col(Message.id).desc()).limit(limit)
    )
    return list(reversed(rows.all()))


async def page(
    session: AsyncSession,
    dialog_id: uuid.UUID,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Message]:
    """Up to `limit` messages older than `before`, newest first."""
    query = select(Message).where(Message.dialog_id == dialog_id)
    if before is not None:
        at, row_id = before
        query = query.where(
            or_(
                col(Message.created_at) < at,
                (col(Message.created_at) == at) & (col(Message.id) < row_id),
            )
        )
    rows = await session.exec(
        query.order_by(col(Message.created_at).desc(), col(Message.id).desc()).limit(limit)
    )
    return list(rows.all())


async def count_by_user(session: AsyncSession, user_id: uuid.UUID) -> int:
    return (await session.exec(select(func.count()).where(Message.user_id == user_id))).one()


async def idempotent_message(session: AsyncSession, user_id: uuid.UUID, key: str) -> Message | None:
    record = (
        await session.exec(
            select(IdempotencyKey).where(
                IdempotencyKey.user_id == user_id, IdempotencyKey.key == key
            )
        )
    ).first()
    return await session.get(Message, record.message_id) if record else None


async def in_progress(session: AsyncSession, status: MessageStatus, limit: int) -> list[Message]:
    rows = await session.exec(select(Message).where(Message.status == status).limit(limit))
    return list(rows.all())
