"""API keys' queries."""

from __future__ import annotations

import uuid

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth_service.models import ApiKey


async def live_keys(session: AsyncSession, user_id: uuid.UUID) -> list[ApiKey]:
    """The user's keys that are not revoked (expired ones included: they show as expired),
    newest first."""
    result = await session.exec(
        select(ApiKey)
        .where(ApiKey.user_id == user_id, col(ApiKey.revoked_at).is_(None))
        .order_by(col(ApiKey.created_at).desc())
    )
    return list(result.all())


async def by_hash(session: AsyncSession, key_hash: str) -> ApiKey | None:
    result = await session.exec(select(ApiKey).where(ApiKey.key_hash == key_hash))
    return result.first()
