"""A dialog's live events, published (docs/DESIGN.md §10): what `GET /api/dialogs/{id}/events`
(`dialogs.events`) streams to everyone who may read the dialog.

Events go to a Redis stream per dialog after the change commits (capped, expiring a day after
the last one), so each event's id is its entry id and `Last-Event-ID` resumes exactly. A member
removed from a workspace is announced on its dialogs' streams, which is how their own end.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from chat_service.models import Dialog
from chat_service.runtime import Runtime
from kit import answers
from kit.db import after_commit

log = logging.getLogger(__name__)
SHARED = "workspace"  # the visibility whose dialogs others read
KEEP = 500  # entries kept per dialog: a client further behind reloads the dialog
EXPIRE_SECONDS = 24 * 3600


def key(dialog_id: uuid.UUID) -> str:
    return f"parley:dialog-events:{dialog_id}"


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


def publish(runtime: Runtime, session: AsyncSession, *events: DialogEvent) -> None:
    """Append the events once the session commits (never for a change rolled back)."""

    async def send() -> None:
        try:
            async with runtime.redis.pipeline(transaction=False) as pipe:
                for event in events:
                    event.add_to(pipe)
                await pipe.execute()
        except RedisError as exc:  # the change stands; open streams miss this news
            log.warning("dialog event not published: %s", exc)

    after_commit(session, send)


async def member_removed(
    runtime: Runtime, session: AsyncSession, workspace_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    """Tell every open event stream of the workspace's dialogs (`member.removed`): the removed
    member's own streams end on it. Dialogs without a stream get nothing."""
    news = {"user_id": str(user_id)}
    dialogs = await session.exec(select(Dialog.id).where(Dialog.workspace_id == workspace_id))
    publish(
        runtime,
        session,
        *(DialogEvent(dialog_id, "member.removed", news, False) for dialog_id in dialogs.all()),
    )
