"""Following one answer's Redis stream for the OpenAI-compatible API: the texts as they come,
then the stored message or the error (the same stream `GET /api/messages/{id}/stream` reads)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from chat_service.runtime import Runtime
from kit import answers


@dataclass
class Step:
    """One thing that happened to the answer: new text, a restart, or its end."""

    kind: str  # "delta" | "reset" | "done" | "error" | "waiting"
    data: dict[str, Any] = field(default_factory=dict)


async def follow(
    runtime: Runtime, message_id: uuid.UUID, wait_seconds: float
) -> AsyncIterator[Step]:
    """The answer's steps from its start; a `waiting` step every `wait_seconds` without news
    (the caller keeps its connection alive). Ends after `done` or `error`."""
    reader = runtime.hub.reader(answers.stream_key(message_id), "0-0")
    try:
        while True:
            batch = await reader.read(wait_seconds)
            if not batch:
                yield Step("waiting")
                continue
            for _, fields in batch:
                kind = bytes(fields[b"type"]).decode()
                yield Step(kind, json.loads(fields[b"data"]))
                if kind in answers.TERMINAL:
                    return
    finally:
        reader.close()
