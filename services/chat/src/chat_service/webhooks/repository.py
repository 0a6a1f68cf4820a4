"""The webhook queries of the API (async): endpoints and their delivery log. The chat-worker's
delivery protocol (claim an attempt, hand due deliveries out) is in `delivery`, on its own
synchronous connection."""

from __future__ import annotations

import uuid

from sqlmodel import col, delete, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from chat_service.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


async def count_for(session: AsyncSession, user_id: uuid.UUID) -> int:
    query = select(func.count()).where(WebhookEndpoint.user_id == user_id)
    return (await session.exec(query)).one()


async def list_for(session: AsyncSession, user_id: uuid.UUID) -> list[WebhookEndpoint]:
    rows = await session.exec(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.user_id == user_id)
        .order_by(col(WebhookEndpoint.created_at))
    )
    return list(rows.all())


async def enabled_for(session: AsyncSession, user_id: uuid.UUID) -> list[WebhookEndpoint]:
    rows = await session.exec(
        select(WebhookEndpoint).where(
            WebhookEndpoint.user_id == user_id, col(WebhookEndpoint.disabled_at).is_(None)
        )
    )
    return list(rows.all())


async def latest_deliveries(
    session: AsyncSession, endpoint_id: uuid.UUID, limit: int
) -> list[tuple[WebhookDelivery, list[WebhookAttempt]]]:
    """The endpoint's latest deliveries, newest first, each with its attempts in order."""
    deliveries = (
        await session.exec(
            select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint_id)
            .order_by(col(WebhookDelivery.created_at).desc())
            .limit(limit)
        )
    ).all()
    attempts: dict[str, list[WebhookAttempt]] = {d.id: [] for d in deliveries}
    if deliveries:
        rows = await session.exec(
            select(WebhookAttempt)
            .where(col(WebhookAttempt.delivery_id).in_(list(attempts)))
            .order_by(col(WebhookAttempt.attempted_at))
        )
        for attempt in rows.all():
            attempts[attempt.delivery_id].append(attempt)
    return [(d, attempts[d.id]) for d in deliveries]


async def delete_for_user(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Every endpoint of the user (their deliveries and attempts go with them)."""
    await session.exec(delete(WebhookEndpoint).where(col(WebhookEndpoint.user_id) == user_id))
