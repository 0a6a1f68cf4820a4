"""Chat's side of the answer stream: final entries, partial text, reading for SSE."""

from __future__ import annotations

import json
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


def sse_event(kind: str, data: dict[str, Any], event_id: str | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {kind}\ndata: {json.dumps(data, default=str)}\n\n".encode()


def sse_entry(entry_id: bytes, fields: dict[bytes, bytes]) -> tuple[str, bytes]:
    """A stream entry as an SSE event, its JSON passed through as stored (no decode/encode per
    token); returns the entry's type too."""
    kind, raw = bytes(fields[b"type"]), bytes(fields[b"data"])
    if b"\n" in raw or b"\r" in raw:  # not written by `answers.encode`: re-encode on one line
        return kind.decode(), sse_event(kind.decode(), json.loads(raw), entry_id.decode())
    return kind.decode(), b"id: %s\nevent: %s\ndata: %s\n\n" % (entry_id, kind, raw)
