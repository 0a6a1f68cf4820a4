"""Usage's queries: one row per stored answer, and the sums the views and the budget need."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, case, func, insert
from sqlalchemy import select as sa_select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from chat_service.models import Message, UsageRecord
from chat_service.usage.schemas import UsageRow, UsageTotals, UserUsage
from kit.db import new_id, utcnow

_BOTH = col(UsageRecord.prompt_tokens) + col(UsageRecord.completion_tokens)


async def add_record(
    session: AsyncSession, message: Message, prompt: int, completion: int, *, estimated: bool
) -> None:
    """One plain INSERT: the row is never read back in this transaction."""
    await session.exec(
        insert(UsageRecord).values(
            id=new_id(),
            message_id=message.id,
            day=(message.completed_at or utcnow()).date(),
            user_id=message.user_id,
            key_id=message.key_id,
            model=message.model,
            prompt_tokens=prompt,
            completion_tokens=completion,
            estimated=estimated,
        )
    )


async def tokens_since(session: AsyncSession, user_id: uuid.UUID, first_day: date) -> int:
    """Prompt and completion tokens of the user's answers from `first_day` on."""
    used = await session.scalar(
        sa_select(func.coalesce(func.sum(_BOTH), 0)).where(
            col(UsageRecord.user_id) == user_id, col(UsageRecord.day) >= first_day
        )
    )
    return int(used or 0)


# the sums every view shows: messages, prompt, completion, and how many tokens were estimated
_SUMS = (
    func.count(),
    func.sum(col(UsageRecord.prompt_tokens)),
    func.sum(col(UsageRecord.completion_tokens)),
    func.sum(case((col(UsageRecord.estimated), _BOTH), else_=0)),
)


def _counts(n: Any, prompt: Any, completion: Any, estimated: Any) -> dict[str, int]:
    """One group's `_SUMS` as the schemas name them (a sum over no rows is NULL)."""
    return {
        "messages": int(n),
        "prompt_tokens": int(prompt or 0),
        "completion_tokens": int(completion or 0),
        "estimated_tokens": int(estimated or 0),
    }


def _filters(
    start: date,
    end: date,
    user_id: uuid.UUID | None,
    workspace_id: uuid.UUID | None,
    key_id: uuid.UUID | None = None,
) -> list[ColumnElement[bool]]:
    where = [col(UsageRecord.day) >= start, col(UsageRecord.day) <= end]
    if key_id is not None:
        where.append(col(UsageRecord.key_id) == key_id)
    if user_id is not None:
        where.append(col(UsageRecord.user_id) == user_id)
    if workspace_id is not None:
        where.append(col(UsageRecord.workspace_id) == workspace_id)
    return where


async def by_day_and_model(
    session: AsyncSession,
    start: date,
    end: date,
    *,
    user_id: uuid.UUID | None = None,
    workspace_id: uuid.UUID | None = None,
    key_id: uuid.UUID | None = None,
) -> tuple[list[UsageRow], UsageTotals]:
    rows = (
        await session.exec(
            sa_select(col(UsageRecord.day), col(UsageRecord.model), *_SUMS)  # type: ignore[call-overload]
            .where(*_filters(start, end, user_id, workspace_id, key_id))
            .group_by(col(UsageRecord.day), col(UsageRecord.model))
            .order_by(col(UsageRecord.day), col(UsageRecord.model))
        )
    ).all()
    data = [UsageRow(date=day, model=model, **_counts(*sums)) for day, model, *sums in rows]
    totals = UsageTotals(
        messages=sum(r.messages for r in data),
        prompt_tokens=sum(r.prompt_tokens for r in data),
        completion_tokens=sum(r.completion_tokens for r in data),
        estimated_tokens=sum(r.estimated_tokens for r in data),
    )
    return data, totals


async def by_user(
    session: AsyncSession,
    start: date,
    end: date,
    *,
    user_id: uuid.UUID | None = None,
    workspace_id: uuid.UUID | None = None,
    limit: int = 100,
) -> list[UserUsage]:
    rows = (
        await session.exec(
            sa_select(col(UsageRecord.user_id), *_SUMS)  # type: ignore[call-overload]
            .where(*_filters(start, end, user_id, workspace_id))
            .group_by(col(UsageRecord.user_id))
            .order_by(func.sum(_BOTH).desc())
            .limit(limit)
        )
    ).all()
    return [UserUsage(user_id=user_id, **_counts(*sums)) for user_id, *sums in rows]
