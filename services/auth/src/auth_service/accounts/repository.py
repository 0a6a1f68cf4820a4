from __future__ import annotations

import uuid

from sqlmodel import col, func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from auth_service.models import EmailToken, User
from kit.db import utcnow


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    return (await session.exec(select(User).where(User.email == email))).first()


async def user_by_username(session: AsyncSession, username: str) -> User | None:
    """The user with this username, ignoring case (usernames are unique that way)."""
    lowered = func.lower(col(User.username)) == username.lower()
    return (await session.exec(select(User).where(lowered))).first()


async def email_token(session: AsyncSession, token_hash: str, purpose: str) -> EmailToken | None:
    return (
        await session.exec(
            select(EmailToken).where(
                EmailToken.token_hash == token_hash, EmailToken.purpose == purpose
            )
        )
    ).first()


async def invalidate_email_tokens(session: AsyncSession, user_id: uuid.UUID, purpose: str) -> None:
    """A new mail makes the earlier links useless."""
    await session.exec(
        update(EmailToken)
        .where(
            col(EmailToken.user_id) == user_id,
            col(EmailToken.purpose) == purpose,
            col(EmailToken.used_at).is_(None),
        )
        .values(used_at=utcnow())
    )
