"""`GET /api/dialogs/{id}/events` (docs/DESIGN.md §10): what changes in a dialog —
`message.created`, `message.updated` (its answer ended), `dialog.updated`, `dialog.deleted` —
for everyone who may read it, so a teammate sees it without reloading; the answer's tokens stay
on the message's own stream (§4). Published by `dialogs.live`; the streams of a process wait
together on the answer hub's one blocking read, and cost nothing while nothing happens. A
reader removed from the dialog's workspace is told on the stream itself (`member.removed`),
and their stream ends.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, cast

from fastapi import APIRouter, Header
from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.responses import StreamingResponse

from chat_service.dependencies import Caller, ReadableDialog, RuntimeDep
from chat_service.dialogs.live import SHARED, key
from chat_service.messages.answering.sse import ENTRY_ID, SSE_HEADERS, sse_entry
from chat_service.runtime import Runtime

log = logging.getLogger(__name__)
router = APIRouter(tags=["dialogs"])


def _made_private(fields: dict[bytes, bytes]) -> bool:
    if bytes(fields[b"type"]) != b"dialog.updated":
        return False
    return bool(json.loads(fields[b"data"])["dialog"]["visibility"] != SHARED)


async def _latest(redis: Redis, dialog_id: uuid.UUID) -> str:
    newest = cast(list[tuple[bytes, object]], await redis.xrevrange(key(dialog_id), count=1))
    return newest[0][0].decode() if newest else "0-0"


@router.get(
    "/api/dialogs/{dialog_id}/events",
    responses={200: {"content": {"text/event-stream": {}}}, 404: {}},
    response_class=StreamingResponse,
)
async def dialog_events(
    dialog: ReadableDialog,
    caller: Caller,
    runtime: RuntimeDep,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """What changes in the dialog, as it happens (SSE); `Last-Event-ID` resumes."""
    start = last_event_id if last_event_id and ENTRY_ID.match(last_event_id) else None
    position = start or await _latest(runtime.redis, dialog.id)
    return StreamingResponse(
        _stream(runtime, dialog.id, position, caller.user_id, dialog.user_id != caller.user_id),
        media_type="text/event-stream",
        headers=SSE_HEADERS,
    )


async def _stream(
    runtime: Runtime, dialog_id: uuid.UUID, position: str, reader_id: uuid.UUID, teammate: bool
) -> AsyncIterator[bytes]:
    """Ends when the dialog is deleted, when its reader is removed from the workspace, or, for
    a `teammate` (not the dialog's maker), when it is made private."""
    reader = runtime.hub.reader(key(dialog_id), position)
    try:
        while True:
            try:
                batch = await reader.read(runtime.settings.sse_ping_seconds)
            except RedisError as exc:
                log.warning("dialog event stream read failed: %s", exc)
                return  # the client reconnects with Last-Event-ID and loses nothing
            if not batch:
                yield b": ping\n\n"
            for entry_id, fields in batch:
                kind, event = sse_entry(entry_id, fields)
                if kind == "member.removed" and _about(fields, reader_id):
                    return
                yield event
                if kind == "dialog.deleted" or (teammate and _made_private(fields)):
                    return
    finally:
        reader.close()


def _about(fields: dict[bytes, bytes], user_id: uuid.UUID) -> bool:
    return bool(json.loads(fields[b"data"])["user_id"] == str(user_id))
