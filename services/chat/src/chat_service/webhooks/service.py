"""Webhook endpoints and the deliveries queued for them (sent by the chat-worker)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from chat_service.models import Message, WebhookDelivery, WebhookEndpoint
from chat_service.runtime import Runtime
from chat_service.webhooks import addresses, endpoint_health, signing
from chat_service.webhooks import repository as repo
from chat_service.webhooks.schemas import (
    AttemptPublic,
    DeliveryPublic,
    SecretRotated,
    WebhookCreate,
    WebhookCreated,
    WebhookPublic,
    WebhookUpdate,
)
from kit.db import utcnow
from kit.errors import Conflict, FieldErrors, NotFound


class WebhookNotFound(NotFound):
    code = "webhook_not_found"

    def __init__(self) -> None:
        super().__init__("No such webhook.")


def public(endpoint: WebhookEndpoint) -> WebhookPublic:
    return WebhookPublic(
        id=endpoint.id,
        url=endpoint.url,
        events=endpoint.events,
        created_at=endpoint.created_at,
        disabled=endpoint.disabled_at is not None,
        disabled_reason=endpoint.disabled_reason,
        failed_deliveries=endpoint.failed_deliveries,
        previous_secret_expires_at=endpoint.previous_secret_expires_at,
    )


async def check_url(runtime: Runtime, url: str) -> None:
    try:
        await addresses.resolve_async(
            url,
            allow_private=runtime.settings.webhook_allow_private,
            extra_ports=runtime.settings.webhook_extra_ports,
        )
    except addresses.AddressRefused as exc:
        raise FieldErrors({"url": [str(exc)]}, code="webhook_url_refused") from None


async def create(
    runtime: Runtime, session: AsyncSession, user_id: uuid.UUID, data: WebhookCreate
) -> WebhookCreated:
    endpoint = await add(runtime, session, user_id, data.url, data.events)
    return WebhookCreated(**public(endpoint).model_dump(), secret=endpoint.secret)


async def add(
    runtime: Runtime,
    session: AsyncSession,
    user_id: uuid.UUID,
    url: str,
    events: Sequence[str],
    name: str = "",
) -> WebhookEndpoint:
    """A new endpoint (both APIs): its URL checked, the per-user limit kept."""
    await check_url(runtime, url)
    if await repo.count_for(session, user_id) >= runtime.settings.webhook_max_per_user:
        raise Conflict(
            f"At most {runtime.settings.webhook_max_per_user} webhooks per user.",
            code="webhook_limit",
        )
    endpoint = WebhookEndpoint(
        user_id=user_id,
        url=url,
        name=name,
        events=list(dict.fromkeys(events)),
        secret=signing.new_secret(),
    )
    endpoint.updated_at = endpoint.created_at
    session.add(endpoint)
    await session.flush()
    return endpoint


async def update(
    runtime: Runtime, session: AsyncSession, endpoint: WebhookEndpoint, data: WebhookUpdate
) -> WebhookEndpoint:
    if data.url is not None and data.url != endpoint.url:
        await check_url(runtime, data.url)
        endpoint.url = data.url
    if data.events is not None:
        endpoint.events = list(dict.fromkeys(data.events))
    if data.disabled is False and endpoint.disabled_at is not None:
        endpoint_health.enable(endpoint)
    elif data.disabled is True and endpoint.disabled_at is None:
        endpoint.disabled_at = utcnow()
        endpoint.disabled_reason = "Disabled by its owner."
    session.add(endpoint)
    await session.flush()
    return endpoint


async def rotate_secret(
    runtime: Runtime, session: AsyncSession, endpoint: WebhookEndpoint
) -> SecretRotated:
    endpoint_health.rotate(endpoint, signing.new_secret(), utcnow(), runtime.settings)
    session.add(endpoint)
    await session.flush()
    assert endpoint.previous_secret_expires_at is not None
    return SecretRotated(
        secret=endpoint.secret, previous_secret_expires_at=endpoint.previous_secret_expires_at
    )


class DeliveryNotFound(NotFound):
    code = "delivery_not_found"

    def __init__(self) -> None:
        super().__init__("No such delivery.")


async def retry_delivery(
    session: AsyncSession, endpoint: WebhookEndpoint, delivery_id: str
) -> WebhookDelivery:
    """Send a failed delivery again (one more attempt, with the same `webhook-id`)."""
    delivery = await session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.endpoint_id != endpoint.id:
        raise DeliveryNotFound()
    if endpoint.disabled_at is not None:
        raise Conflict(
            "Enable the webhook before retrying its deliveries.", code="webhook_disabled"
        )
    if delivery.status != "failed":
        raise Conflict(f"Only a failed delivery can be retried; this one is {delivery.status}.")
    delivery.status = "pending"
    delivery.next_attempt_at = utcnow()
    delivery.locked_until = None
    session.add(delivery)
    await session.flush()
    return delivery


def _payload(event_type: str, data: dict[str, Any]) -> str:
    return json.dumps(
        {"type": event_type, "timestamp": datetime.now(UTC).isoformat(), "data": data}
    )


async def queue_for_message(
    session: AsyncSession, message: Message, message_public: dict[str, Any]
) -> None:
    """In the transaction that ends a message: one delivery per subscribed endpoint, of
    `message.{status}`, and for a `/v1` response also OpenAI's `response.{status}` (§12)."""
    kind = f"message.{message.status}"
    events = {kind: _payload(kind, {"message": message_public})}
    if message.response is not None:
        events[f"response.{message.status}"] = openai_event(
            f"response.{message.status}", {"id": f"resp_{message.id.hex}"}
        )
    for endpoint in await repo.enabled_for(session, message.user_id):
        for event_type, payload in events.items():
            if event_type in endpoint.events:
                session.add(
                    WebhookDelivery(
                        id=signing.new_message_id(),
                        endpoint_id=endpoint.id,
                        event_type=event_type,
                        event_key=f"{event_type}:{message.id}:{message.generation}",
                        payload=payload,
                    )
                )


def openai_event(event_type: str, data: dict[str, Any]) -> str:
    """An event as OpenAI sends it, so `client.webhooks.unwrap()` reads it (§12)."""
    return json.dumps(
        {
            "id": f"evt_{uuid.uuid4().hex}",
            "object": "event",
            "type": event_type,
            "created_at": int(datetime.now(UTC).timestamp()),
            "data": data,
        }
    )


async def queue_test(session: AsyncSession, endpoint: WebhookEndpoint) -> WebhookDelivery:
    delivery_id = signing.new_message_id()
    delivery = WebhookDelivery(
        id=delivery_id,
        endpoint_id=endpoint.id,
        event_type="webhook.test",
        event_key=f"test:{delivery_id}",
        payload=_payload("webhook.test", {"webhook_id": str(endpoint.id)}),
    )
    session.add(delivery)
    await session.flush()
    return delivery


async def deliveries(
    session: AsyncSession, endpoint: WebhookEndpoint, limit: int = 50
) -> list[DeliveryPublic]:
    result = []
    for delivery, attempts in await repo.latest_deliveries(session, endpoint.id, limit):
        result.append(
            DeliveryPublic(
                id=delivery.id,
                event_type=delivery.event_type,
                status=delivery.status,
                attempts=delivery.attempts,
                next_attempt_at=delivery.next_attempt_at if delivery.status == "pending" else None,
                created_at=delivery.created_at,
                attempt_log=[
                    AttemptPublic.model_validate(a, from_attributes=True) for a in attempts
                ],
            )
        )
    return result
