from __future__ import annotations

import uuid
from typing import NamedTuple

from sqlmodel import col, func, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from chat_service.models import Dialog, IdempotencyKey, Message, MessageStatus
from kit.pagination import Position, newest_first


async def owned_message(
    session: AsyncSession, message_id: uuid.UUID, user_id: uuid.UUID
) -> Message | None:
    message = await session.get(Message, message_id)
    return message if message is not None and message.user_id == user_id else None


class Exchange(NamedTuple):
    message_text: str
    answer_text: str
    handle: str  # of the agent that answered


async def recent_exchanges(
    session: AsyncSession, dialog_id: uuid.UUID, limit: int, before: Message | None = None
) -> list[Exchange]:
    """The last `limit` answered exchanges of a dialog (before `before`), oldest first.

    Only the two texts are read: loading whole ORM rows for a long dialog's context cost a
    quarter of posting a message.
    """
    query = select(col(Message.message_text), col(Message.answer_text), col(Message.agent)).where(
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
    return [
        Exchange(text, answer, str(agent["handle"]) if agent else "assistant")
        for text, answer, agent in reversed(rows.all())
    ]


async def page(
    session: AsyncSession,
    dialog_id: uuid.UUID,
    before: Position | None,
    limit: int,
) -> list[Message]:
    """Up to `limit` (+1) messages older than `before`, newest first (`kit.pagination`)."""
    query = select(Message).where(Message.dialog_id == dialog_id)
    query = newest_first(query, col(Message.created_at), col(Message.id), before, limit)
    return list((await session.exec(query)).all())


async def count_by_user(session: AsyncSession, user_id: uuid.UUID, up_to: int) -> int:
    """The user's message count, counted no further than `up_to` (a quota check needs no more)."""
    first = select(col(Message.id)).where(Message.user_id == user_id).limit(up_to).subquery()
    return (await session.exec(select(func.count()).select_from(first))).one()


async def idempotent_message(session: AsyncSession, user_id: uuid.UUID, key: str) -> Message | None:
    record = (
        await session.exec(
            select(IdempotencyKey).where(
                IdempotencyKey.user_id == user_id, IdempotencyKey.key == key
            )
        )
    ).first()
    return await session.get(Message, record.message_id) if record else None


async def in_progress(session: AsyncSession, limit: int) -> list[Message]:
    """Messages whose answer has no outcome yet, oldest first."""
    query = select(Message).where(col(Message.status) == MessageStatus.queued)
    rows = await session.exec(query.order_by(col(Message.created_at)).limit(limit))
    return list(rows.all())


async def status_and_place(
    session: AsyncSession, message_id: uuid.UUID
) -> tuple[str, uuid.UUID, uuid.UUID, str] | None:
    """A message's status and what deciding who may read it needs (its dialog's maker,
    workspace and visibility): a few columns, not whole rows, as every answer stream opens
    with this check."""
    query = (
        select(
            col(Message.status),
            col(Dialog.user_id),
            col(Dialog.workspace_id),
            col(Dialog.visibility),
        )
        .join(Dialog, col(Dialog.id) == col(Message.dialog_id))
        .where(Message.id == message_id)
    )
    row = (await session.exec(query)).first()
    return (row[0], row[1], row[2], row[3]) if row is not None else None


async def in_order(
    session: AsyncSession,
    dialog_id: uuid.UUID,
    start: Message | None,
    newest: bool,
    limit: int,
) -> list[Message]:
    """Up to `limit` messages of a dialog, newest or oldest first, from `start` (included)."""
    at, row_id = col(Message.created_at), col(Message.id)
    query = select(Message).where(Message.dialog_id == dialog_id)
    if start is not None:
        if newest:
            beyond = or_(at < start.created_at, (at == start.created_at) & (row_id <= start.id))
        else:
            beyond = or_(at > start.created_at, (at == start.created_at) & (row_id >= start.id))
        query = query.where(beyond)
    order = (at.desc(), row_id.desc()) if newest else (at.asc(), row_id.asc())
    return list((await session.exec(query.order_by(*order).limit(limit))).all())
