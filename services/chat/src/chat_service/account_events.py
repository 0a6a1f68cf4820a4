"""Events chat consumes: `auth.user_deleted` removes the user's dialogs, messages and webhooks."""

from __future__ import annotations

import asyncio
import uuid

from sqlmodel import col, delete

from chat_service.models import Dialog, WebhookEndpoint
from chat_service.runtime import Runtime
from kit import event_types
from kit.consumer import EventConsumer
from kit.dedupe import Deduplicator
from kit.events import Event

QUEUE = "chat.events"


async def delete_user_data(runtime: Runtime, user_id: uuid.UUID) -> None:
    async with runtime.db.session() as session:
        # messages and idempotency keys go with their dialog, deliveries with their endpoint
        await session.exec(delete(Dialog).where(col(Dialog.user_id) == user_id))
        await session.exec(delete(WebhookEndpoint).where(col(WebhookEndpoint.user_id) == user_id))


def consumer(runtime: Runtime, loop: asyncio.AbstractEventLoop) -> EventConsumer:
    dedupe = Deduplicator(runtime.redis, "chat")

    async def handle(event: Event) -> None:
        if event.type == event_types.USER_DELETED:
            await delete_user_data(runtime, uuid.UUID(str(event.data["user_id"])))

    async def on_event(event: Event) -> None:
        await dedupe.run_once(event, handle)

    return EventConsumer(runtime.settings.broker_url, QUEUE, on_event, loop)
