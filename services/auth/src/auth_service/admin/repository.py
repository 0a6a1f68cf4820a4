from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import and_, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth_service.models import Profile, User


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def page_of_users(
    session: AsyncSession,
    *,
    search: str | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[tuple[User, Profile]]:
    """Users newest first, optionally matching `search` in email or username (case-insensitive)."""
    query = select(User, Profile).join(Profile, col(Profile.user_id) == col(User.id))
    if search:
        pattern = _like(search)
        query = query.where(
            or_(
                col(User.email).ilike(pattern, escape="\\"),
                col(User.username).ilike(pattern, escape="\\"),
            )
        )
    if after is not None:
        at, last_id = after
        query = query.where(
            or_(
                col(User.created_at) < at,
                and_(col(User.created_at) == at, col(User.id) < last_id),
            )
        )
    query = query.order_by(col(User.created_at).desc(), col(User.id).desc()).limit(limit)
    return [(user, profile) for user, profile in (await session.exec(query)).all()]
