"""Chat's side of the answer stream (`kit.answers`): the final entry and the partial text."""

from __future__ import annotations

import uuid
from typing import Any, cast

from redis.asyncio import Redis

from kit import answers


async def write_final(redis: Redis, message_id: uuid.UUID, kind: str, data: dict[str, Any]) -> None:
    """Append `done`/`error` and let the stream expire an hour later."""
    key = answers.stream_key(message_id)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.xadd(key, answers.encode(kind, data))
        pipe.expire(key, answers.EXPIRE_AFTER_END_SECONDS)
        await pipe.execute()


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
