"""Sessions and refresh tokens: issue on login, rotate on every use, detect reuse.

A refresh token is opaque and stored only as a hash. Each use rotates it. Presenting a token that
was already rotated means it was copied: the whole session (token family) is revoked — except the
immediate predecessor presented again within `GRACE` (two tabs racing), which gets a new access
token and no new refresh token. Revoked sessions are also written to Redis so the gateway refuses
their access tokens at once instead of at expiry.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from prometheus_client import Counter
from sqlmodel.ext.asyncio.session import AsyncSession

from auth_service.models import AuthSession, RefreshToken, User
from auth_service.opaque import new_token, token_hash
from auth_service.runtime import Runtime
from auth_service.sessions import repository as repo
from kit import account_state
from kit import jwt as kjwt
from kit.db import after_commit, utcnow
from kit.errors import NotFound, Unauthorized

GRACE = timedelta(seconds=10)
REFRESH_REUSE = Counter(
    "parley_refresh_reuse_detected_total",
    "Rotated refresh tokens presented again (family revoked).",
)


class SessionNotFound(NotFound):
    code = "session_not_found"

    def __init__(self) -> None:
        super().__init__("No such session.")


class InvalidRefreshToken(Unauthorized):
    code = "invalid_refresh_token"
    keep_changes = True  # a revocation made while refusing must stick

    def __init__(self, message: str = "Sign in again.") -> None:
        super().__init__(message)


@dataclass
class Issued:
    access_token: str
    refresh_token: str | None
    user: User
    session_expires_at: datetime  # the family's absolute end: no refresh token outlives it


def access_token_for(runtime: Runtime, user: User, session_id: uuid.UUID) -> str:
    s = runtime.settings
    return kjwt.sign_access_token(
        runtime.keys.signing,
        issuer=s.jwt_issuer,
        audience=s.jwt_audience,
        user_id=user.id,
        session_id=session_id,
        email_confirmed=user.is_email_confirmed,
        username=user.username,
        staff=user.is_staff,
        lifetime=s.access_lifetime,
    )


async def start_session(
    runtime: Runtime, session: AsyncSession, user: User, *, user_agent: str, ip: str
) -> Issued:
    now = utcnow()
    auth_session = AuthSession(
        user_id=user.id,
        created_at=now,
        last_used_at=now,
        expires_at=now + timedelta(days=runtime.settings.refresh_absolute_days),
        user_agent=user_agent[:255],
        ip=ip[:64],
    )
    session.add(auth_session)
    await session.flush()
    refresh = new_token()
    session.add(
        RefreshToken(token_hash=token_hash(refresh), session_id=auth_session.id, created_at=now)
    )
    await session.flush()
    return Issued(
        access_token_for(runtime, user, auth_session.id), refresh, user, auth_session.expires_at
    )


def _expired(runtime: Runtime, auth_session: AuthSession, now: datetime) -> bool:
    idle_limit = auth_session.last_used_at + timedelta(days=runtime.settings.refresh_idle_days)
    return now >= auth_session.expires_at or now >= idle_limit


async def refresh(
    runtime: Runtime, session: AsyncSession, presented: str, *, ip: str = "", user_agent: str = ""
) -> Issued:
    now = utcnow()
    token = await session.get(RefreshToken, token_hash(presented))
    if token is None:
        raise InvalidRefreshToken()
    auth_session = await session.get(AuthSession, token.session_id)
    user = await session.get(User, auth_session.user_id) if auth_session else None
    if auth_session is None or user is None or auth_session.revoked_at is not None:
        raise InvalidRefreshToken()
    if not user.is_active or _expired(runtime, auth_session, now):
        raise InvalidRefreshToken("Your session has expired; sign in again.")

    if token.rotated_at is not None or not await _claim(session, token, now):
        # already used: two tabs racing, or a copy of the token in someone else's hands
        await session.refresh(token)  # (a concurrent request may have rotated it a moment ago)
        rotated_at = token.rotated_at or now
        if now - rotated_at <= GRACE and await _is_predecessor(session, token):
            auth_session.last_used_at = now
            return Issued(
                access_token_for(runtime, user, auth_session.id),
                None,
                user,
                auth_session.expires_at,
            )
        REFRESH_REUSE.inc()
        await revoke_sessions(runtime, session, [auth_session])
        raise InvalidRefreshToken("This sign-in was used elsewhere; sign in again.")

    auth_session.last_used_at = now
    if ip:
        auth_session.ip = ip[:64]
    if user_agent:
        auth_session.user_agent = user_agent[:255]
    fresh = new_token()
    session.add(
        RefreshToken(token_hash=token_hash(fresh), session_id=auth_session.id, created_at=now)
    )
    await session.flush()
    return Issued(
        access_token_for(runtime, user, auth_session.id), fresh, user, auth_session.expires_at
    )


async def _claim(session: AsyncSession, token: RefreshToken, now: datetime) -> bool:
    """Mark `token` rotated unless another transaction did first (then it is a race or reuse)."""
    claimed = await repo.claim_token(session, token.token_hash, now)
    if claimed:
        token.rotated_at = now
    return claimed


async def _is_predecessor(session: AsyncSession, token: RefreshToken) -> bool:
    """True if the token issued right after `token` is still the session's current one."""
    newer = await repo.tokens_after(session, token)
    return len(newer) == 1 and newer[0].rotated_at is None


async def session_of_token(session: AsyncSession, presented: str) -> AuthSession | None:
    token = await session.get(RefreshToken, token_hash(presented))
    return await session.get(AuthSession, token.session_id) if token else None


async def revoke_sessions(
    runtime: Runtime, session: AsyncSession, sessions: list[AuthSession]
) -> None:
    now = utcnow()
    ids = [s.id for s in sessions if s.revoked_at is None]
    if not ids:
        return
    await repo.revoke(session, ids, now)
    for s in sessions:
        s.revoked_at = s.revoked_at or now
    mark_revoked_after_commit(
        runtime, session, ids, account_state.ttl_seconds(runtime.settings.access_lifetime)
    )


def mark_revoked_after_commit(
    runtime: Runtime, session: AsyncSession, ids: list[uuid.UUID], ttl_seconds: int
) -> None:
    """Once the change is committed, mark the tokens of these sessions (or API keys, whose id
    is their tokens' `sid`) revoked in Redis, where the gateway checks every request; the mark
    lasts as long as the longest token it must stop."""
    if not ids:
        return

    async def publish() -> None:
        async with runtime.redis.pipeline(transaction=False) as pipe:
            for sid in ids:
                pipe.set(account_state.revoked_session_key(sid), "1", ex=ttl_seconds)
            await pipe.execute()

    after_commit(session, publish)


async def active_sessions(session: AsyncSession, user_id: uuid.UUID) -> list[AuthSession]:
    """Every session of the user that is not revoked yet (expired ones included)."""
    return await repo.active_sessions(session, user_id)


async def live_sessions(
    runtime: Runtime, session: AsyncSession, user_id: uuid.UUID
) -> list[AuthSession]:
    """The user's sessions that can still refresh: neither revoked nor expired."""
    now = utcnow()
    return [
        s for s in await repo.active_sessions(session, user_id) if not _expired(runtime, s, now)
    ]


async def revoke_one(
    runtime: Runtime, session: AsyncSession, user_id: uuid.UUID, session_id: uuid.UUID
) -> None:
    """Sign out one of the user's own sessions; anyone else's is "not found"."""
    target = await session.get(AuthSession, session_id)
    if target is None or target.user_id != user_id or target.revoked_at is not None:
        raise SessionNotFound()
    await revoke_sessions(runtime, session, [target])
