"""`GET /api/dialogs/{id}/events` (docs/DESIGN.md §10): what changes in a dialog —
`message.created`, `message.updated` (its answer ended), `dialog.updated`, `dialog.deleted` —
for everyone who may read it, so a teammate sees it without reloading; the answer's tokens stay
on the message's own stream (§4). Published by `dialogs.live`; the streams of a process wait
together on the answer hub's one blocking read. A reader removed from the dialog's workspace
is noticed within a second and their stream ends.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, cast

from fastapi import APIRouter, Header
from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.responses import StreamingResponse

from chat_service.dependencies import Caller, ReadableDialog, RuntimeDep
from chat_service.dialogs.live import SHARED, key, removed_key
from chat_service.messages.answering.sse import ENTRY_ID, SSE_HEADERS, sse_entry
from chat_service.runtime import Runtime
from chat_service.workspaces.ids import personal_id

log = logging.getLogger(__name__)
router = APIRouter(tags=["dialogs"])
CHECK_SECONDS = 1.0  # how often an open stream looks whether its reader was removed


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
    # a dialog of the caller's personal workspace is theirs alone: nobody can remove them
    watch = None
    if dialog.workspace_id != personal_id(caller.user_id):
        watch = removed_key(dialog.workspace_id, caller.user_id)
    return StreamingResponse(
        _stream(runtime, dialog.id, position, watch, dialog.user_id != caller.user_id),
        media_type="text/event-stream",
        headers=SSE_HEADERS,
    )


async def _stream(
    runtime: Runtime, dialog_id: uuid.UUID, position: str, watch: str | None, teammate: bool
) -> AsyncIterator[bytes]:
    """`teammate`: the reader is not the dialog's maker, so it ends when made private."""
    reader = runtime.hub.reader(key(dialog_id), position)
    pinged = time.monotonic()
    try:
        while True:
            try:
                batch = await reader.read(
                    CHECK_SECONDS if watch else runtime.settings.sse_ping_seconds
                )
                if watch is not None and await runtime.redis.exists(watch):
                    return  # removed from the workspace
            except RedisError as exc:
                log.warning("dialog event stream read failed: %s", exc)
                return  # the client reconnects with Last-Event-ID and loses nothing
            for entry_id, fields in batch:
                kind, event = sse_entry(entry_id, fields)
                yield event
                if kind == "dialog.deleted" or (teammate and _made_private(fields)):
                    return
            if not batch and time.monotonic() - pinged >= runtime.settings.sse_ping_seconds:
                pinged = time.monotonic()
                yield b": ping\n\n"
    finally:
        reader.close()
