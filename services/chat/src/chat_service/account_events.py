"""Events chat consumes: `auth.user_deleted` removes the user's dialogs, messages and webhooks,
and takes them out of their workspaces (`workspaces.service.leave_all`)."""

from __future__ import annotations

import asyncio
import uuid

from chat_service.dialogs import repository as dialogs_repo
from chat_service.runtime import Runtime
from chat_service.webhooks import repository as webhooks_repo
from chat_service.workspaces import service as workspaces
from kit import event_types
from kit.consumer import EventConsumer
from kit.dedupe import Deduplicator
from kit.events import Event

QUEUE = "chat.events"


async def delete_user_data(runtime: Runtime, user_id: uuid.UUID) -> None:
    async with runtime.db.session() as session:
        await dialogs_repo.delete_for_user(session, user_id)
        await webhooks_repo.delete_for_user(session, user_id)
        await workspaces.leave_all(runtime, session, user_id)


def consumer(runtime: Runtime, loop: asyncio.AbstractEventLoop) -> EventConsumer:
    dedupe = Deduplicator(runtime.redis, "chat")

    async def handle(event: Event) -> None:
        if event.type == event_types.USER_DELETED:
            await delete_user_data(runtime, uuid.UUID(str(event.data["user_id"])))

    async def on_event(event: Event) -> None:
        await dedupe.run_once(event, handle)

    return EventConsumer(runtime.settings.broker_url, QUEUE, on_event, loop)
