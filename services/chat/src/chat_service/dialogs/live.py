"""A dialog's live events, published (docs/DESIGN.md §10): what `GET /api/dialogs/{id}/events`
(`dialogs.events`) streams to everyone who may read the dialog.

Events go to a Redis stream per dialog after the change commits (capped, expiring a day after
the last one), so each event's id is its entry id and `Last-Event-ID` resumes exactly. A member
removed from a workspace leaves a mark that their open streams see within a second.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError
from sqlmodel.ext.asyncio.session import AsyncSession

from chat_service.runtime import Runtime
from kit import answers
from kit.db import after_commit

log = logging.getLogger(__name__)
SHARED = "workspace"  # the visibility whose dialogs others read
KEEP = 500  # entries kept per dialog: a client further behind reloads the dialog
EXPIRE_SECONDS = 24 * 3600


def key(dialog_id: uuid.UUID) -> str:
    return f"parley:dialog-events:{dialog_id}"


def removed_key(workspace_id: uuid.UUID, user_id: uuid.UUID) -> str:
    return f"parley:removed:{workspace_id}:{user_id}"


@dataclass(frozen=True)
class DialogEvent:
    dialog_id: uuid.UUID
    kind: str
    data: dict[str, Any]
    # start the dialog's stream if it has none: for a shared dialog's news. An event about a
    # dialog nobody else reads (a private one) only reaches a stream that already exists
    # (a dialog made private just now), so private chats keep no streams in Redis
    create: bool

    def add_to(self, pipe: Pipeline) -> None:
        name = key(self.dialog_id)
        pipe.xadd(
            name,
            answers.encode(self.kind, self.data),
            maxlen=KEEP,
            approximate=True,
            nomkstream=not self.create,
        )
        pipe.expire(name, EXPIRE_SECONDS)


def publish(runtime: Runtime, session: AsyncSession, event: DialogEvent) -> None:
    """Append the event once the session commits (never for a change rolled back)."""

    async def send() -> None:
        try:
            async with runtime.redis.pipeline(transaction=False) as pipe:
                event.add_to(pipe)
                await pipe.execute()
        except RedisError as exc:  # the change stands; open streams miss this one event
            log.warning("dialog event not published: %s", exc)

    after_commit(session, send)


def mark_removed(
    runtime: Runtime, session: AsyncSession, workspace_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    """After the commit: the removed member's open event streams see the mark and end."""

    async def mark() -> None:
        await runtime.redis.set(removed_key(workspace_id, user_id), 1, ex=EXPIRE_SECONDS)

    after_commit(session, mark)


def clear_removed(
    runtime: Runtime, session: AsyncSession, workspace_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    async def clear() -> None:
        await runtime.redis.delete(removed_key(workspace_id, user_id))

    after_commit(session, clear)
