"""`GET /api/messages/{id}/stream`: the answer as Server-Sent Events (docs/DESIGN.md §4).

Each event's id is its Redis stream entry id, so a client reconnecting with `Last-Event-ID`
continues exactly after the last event it saw. A message that already ended gets one `done`
with the stored message. A `: ping` comment keeps idle connections open; each user may hold a
few streams at once. The streams of a process wait for new entries together (`hub`).
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header
from prometheus_client import Gauge
from redis.exceptions import RedisError
from starlette.responses import Response, StreamingResponse

from chat_service.dependencies import Caller, RuntimeDep
from chat_service.dialogs import access
from chat_service.messages import repository as repo
from chat_service.messages.errors import MessageNotFound
from chat_service.messages.schemas import MessagePublic
from chat_service.models import Message, MessageStatus
from chat_service.runtime import Runtime
from kit import answers
from kit.errors import TooManyRequests
from kit.jwt import AccessClaims

log = logging.getLogger(__name__)

router = APIRouter(tags=["messages"])
OPEN_STREAMS = Gauge("parley_sse_open_streams", "Answer streams (SSE) open now.")
ENTRY_ID = re.compile(r"^\d+-\d+$")
# no cache or proxy may hold events back (nginx reads X-Accel-Buffering)
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


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


async def _status(runtime: Runtime, message_id: uuid.UUID) -> str | None:
    async with runtime.db.read_session() as session:
        found = await repo.status_and_place(session, message_id)
    return found[0] if found is not None else None


async def _status_for(runtime: Runtime, caller: AccessClaims, message_id: uuid.UUID) -> str | None:
    """The message's status, if the caller may read it (`dialogs.access`)."""
    async with runtime.db.read_session() as session:
        found = await repo.status_and_place(session, message_id)
        if found is None or not await access.may_read(session, caller, *found[1:]):
            return None
    return found[0]


async def _load(runtime: Runtime, message_id: uuid.UUID) -> Message | None:
    async with runtime.db.read_session() as session:
        return await session.get(Message, message_id)


def _final(message: Message) -> bytes:
    return sse_event("done", {"message": MessagePublic.of(message).model_dump(mode="json")}, "end")


class StreamSlots:
    """Per-user open-stream count that heals itself if a process dies (sorted set of leases)."""

    def __init__(self, runtime: Runtime, user_id: uuid.UUID) -> None:
        self.redis = runtime.redis
        self.key = f"parley:sse:{user_id}"
        self.slot = uuid.uuid4().hex
        self.ttl = 3 * runtime.settings.sse_ping_seconds
        self.limit = runtime.settings.sse_max_per_user

    async def take(self) -> None:
        now = time.time()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(self.key, 0, now - self.ttl)
            pipe.zadd(self.key, {self.slot: now})
            pipe.zcard(self.key)
            pipe.expire(self.key, int(self.ttl) + 1)
            _, _, count, _ = await pipe.execute()
        if count > self.limit:
            await self.give_back()
            raise TooManyRequests(
                f"At most {self.limit} answer streams may be open at once.", retry_after=5
            )

    async def renew(self) -> None:
        await self.redis.zadd(self.key, {self.slot: time.time()})

    async def give_back(self) -> None:
        await self.redis.zrem(self.key, self.slot)


async def events(
    runtime: Runtime, message_id: uuid.UUID, last_id: str, slots: StreamSlots
) -> AsyncIterator[bytes]:
    reader = runtime.hub.reader(answers.stream_key(message_id), last_id)
    OPEN_STREAMS.inc()
    try:
        while True:
            try:
                batch = await reader.read(runtime.settings.sse_ping_seconds)
            except RedisError as exc:
                # end the response; the client reconnects with Last-Event-ID and loses nothing
                log.warning("answer stream read failed: %s", exc)
                return
            if not batch:
                yield b": ping\n\n"
                await slots.renew()
                state = await _status(runtime, message_id)
                if state is None or MessageStatus(state).terminal:
                    if state is not None and (ended := await _load(runtime, message_id)):
                        yield _final(ended)
                    return
                continue
            for entry_id, fields in batch:
                kind, event = sse_entry(entry_id, fields)
                yield event
                if kind in answers.TERMINAL:
                    return
    finally:
        reader.close()
        OPEN_STREAMS.dec()
        await slots.give_back()


@router.get(
    "/api/messages/{message_id}/stream",
    responses={200: {"content": {"text/event-stream": {}}}, 404: {}, 429: {}},
    response_class=StreamingResponse,
)
async def stream_answer(
    message_id: uuid.UUID,
    caller: Caller,
    runtime: RuntimeDep,
    last_event_id: Annotated[str | None, Header()] = None,
) -> Response:
    """The answer as it is generated: `delta`, `reset`, then `done` or `error` (SSE)."""
    state = await _status_for(runtime, caller, message_id)
    if state is None:
        raise MessageNotFound()
    headers = SSE_HEADERS
    if MessageStatus(state).terminal and (ended := await _load(runtime, message_id)):
        # one event, sent whole (a streamed iterator would go through a worker thread)
        return Response(_final(ended), media_type="text/event-stream", headers=headers)
    slots = StreamSlots(runtime, caller.user_id)
    await slots.take()
    start = last_event_id if last_event_id and ENTRY_ID.match(last_event_id) else "0-0"
    return StreamingResponse(
        events(runtime, message_id, start, slots), media_type="text/event-stream", headers=headers
    )
