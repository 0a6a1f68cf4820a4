from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from auth_service.models import AuthSession, RefreshToken


async def active_sessions(session: AsyncSession, user_id: uuid.UUID) -> list[AuthSession]:
    """The user's sessions not revoked (expired ones included), most recently used first."""
    return list(
        (
            await session.exec(
                select(AuthSession)
                .where(AuthSession.user_id == user_id, col(AuthSession.revoked_at).is_(None))
                .order_by(col(AuthSession.last_used_at).desc())
            )
        ).all()
    )


async def tokens_after(session: AsyncSession, token: RefreshToken) -> list[RefreshToken]:
    """The refresh tokens of `token`'s session issued after it, oldest first."""
    return list(
        (
            await session.exec(
                select(RefreshToken)
                .where(
                    RefreshToken.session_id == token.session_id,
                    col(RefreshToken.created_at) >= token.created_at,
                    RefreshToken.token_hash != token.token_hash,
                )
                .order_by(col(RefreshToken.created_at))
            )
        ).all()
    )


async def claim_token(session: AsyncSession, token_hash: str, now: datetime) -> bool:
    """Mark the refresh token rotated unless another transaction did first (atomic)."""
    result = await session.exec(
        update(RefreshToken)
        .where(col(RefreshToken.token_hash) == token_hash, col(RefreshToken.rotated_at).is_(None))
        .values(rotated_at=now)
    )
    return result.rowcount == 1


async def revoke(session: AsyncSession, ids: list[uuid.UUID], now: datetime) -> None:
    await session.exec(
        update(AuthSession).where(col(AuthSession.id).in_(ids)).values(revoked_at=now)
    )
