from __future__ import annotations

from sqlalchemy import or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth_service.models import Profile, User
from kit.pagination import Position, newest_first


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def page_of_users(
    session: AsyncSession,
    *,
    search: str | None,
    after: Position | None,
    limit: int,
) -> list[tuple[User, Profile]]:
    """Users newest first, optionally matching `search` in email or username (case-insensitive);
    `limit` + 1 rows (`kit.pagination`)."""
    query = select(User, Profile).join(Profile, col(Profile.user_id) == col(User.id))
    if search:
        pattern = _like(search)
        query = query.where(
            or_(
                col(User.email).ilike(pattern, escape="\\"),
                col(User.username).ilike(pattern, escape="\\"),
            )
        )
    query = newest_first(query, col(User.created_at), col(User.id), after, limit)
    return [(user, profile) for user, profile in (await session.exec(query)).all()]
