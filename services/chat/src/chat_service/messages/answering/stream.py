"""Chat's side of the answer stream (`kit.answers`): the final entry and the partial text."""

from __future__ import annotations

import uuid
from typing import Any, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError

from chat_service.dialogs.live import DialogEvent
from chat_service.messages.schemas import MessagePublic
from chat_service.models import MessageStatus
from kit import answers


async def write_final(
    redis: Redis,
    message_id: uuid.UUID,
    generation: int,
    kind: str,
    data: dict[str, Any],
    news: DialogEvent | None = None,
) -> None:
    """Append `done`/`error`, let the stream expire an hour later, and mark the generation
    ended (a worker still on it stops; a copy of its job that comes later skips it); `news`
    for the dialog's event streams goes in the same round trip."""
    key = answers.stream_key(message_id)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.xadd(key, answers.encode(kind, data))
        pipe.expire(key, answers.EXPIRE_AFTER_END_SECONDS)
        pipe.set(answers.ended_key(message_id), generation, ex=answers.ENDED_KEEP_SECONDS)
        if news is not None:
            news.add_to(pipe)
        await pipe.execute()


async def live_statuses(redis: Redis, messages: list[MessagePublic]) -> list[MessagePublic]:
    """The messages with `generating` for each `queued` one whose lease a worker holds: the
    database only knows `queued` and the outcome. Redis away: they stay `queued`."""
    queued = [m for m in messages if m.status == MessageStatus.queued]
    if not queued:
        return messages
    try:
        async with redis.pipeline(transaction=False) as pipe:
            for m in queued:
                pipe.exists(answers.lease_key(m.id))
            held = await pipe.execute()
    except RedisError:
        return messages
    for m, lease in zip(queued, held, strict=True):
        if lease:
            m.status = MessageStatus.generating.value
    return messages


async def partial_text(redis: Redis, message_id: uuid.UUID) -> str:
    """The answer so far, as a reader of the stream would have it (deltas since the last reset)."""
    text: list[str] = []
    entries = cast(
        list[tuple[bytes, dict[bytes, bytes]]], await redis.xrange(answers.stream_key(message_id))
    )
    for _, fields in entries:
        kind, data = answers.decode(fields)
        if kind == "reset":
            text.clear()
        elif kind == "delta":
            text.append(str(data.get("text", "")))
    return "".join(text)
