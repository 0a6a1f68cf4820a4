"""Following one answer's Redis stream for the OpenAI-compatible API: the texts as they come,
then the stored message or the error (the same stream `GET /api/messages/{id}/stream` reads)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from chat_service.messages.schemas import MessagePublic
from chat_service.models import Message, MessageStatus
from chat_service.runtime import Runtime
from kit import answers

KEEP_ALIVE_SECONDS = 10.0  # a waiting reply sends something this often (proxies time out)


@dataclass
class Step:
    """One thing that happened to the answer: new text, a restart, or its end."""

    kind: str  # "delta" | "reset" | "done" | "error" | "waiting"
    data: dict[str, Any] = field(default_factory=dict)


async def follow(
    runtime: Runtime, message_id: uuid.UUID, wait_seconds: float
) -> AsyncIterator[Step]:
    """The answer's steps from its start; a `waiting` step every `wait_seconds` without news
    (the caller keeps its connection alive). Ends after `done` or `error`, or, as the answer
    stream does (`answering.sse`), with the stored outcome when the stream is silent and the
    message has ended (its final entry lost with Redis, or the message deleted)."""
    reader = runtime.hub.reader(answers.stream_key(message_id), "0-0")
    try:
        while True:
            batch = await reader.read(wait_seconds)
            if not batch:
                async with runtime.db.read_session() as session:
                    message = await session.get(Message, message_id)
                if message is None:
                    yield Step("error", {"code": "not_found", "message": "The answer is gone."})
                    return
                if MessageStatus(message.status).terminal:
                    yield stored(message)
                    return
                yield Step("waiting")
                continue
            for _, fields in batch:
                kind = bytes(fields[b"type"]).decode()
                yield Step(kind, json.loads(fields[b"data"]))
                if kind in answers.TERMINAL:
                    return
    finally:
        reader.close()


def stored(message: Message) -> Step:
    """A message's stored outcome as its final step."""
    if message.status == MessageStatus.failed and message.error is not None:
        return Step("error", dict(message.error))
    return Step("done", {"message": MessagePublic.of(message).model_dump(mode="json")})
