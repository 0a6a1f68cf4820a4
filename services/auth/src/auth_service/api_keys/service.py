"""API keys (docs/DESIGN.md §11): create (shown once), list, revoke, and trade for a token.

The gateway never forwards a key: it asks `exchange` for a short-lived access token of the
key's user whose `sid` is the key's id, and forwards that, so chat and auth know a caller one
way whatever they signed in with. Revoking a key sets the same Redis mark as a revoked session
(`kit.account_state`), so the gateway refuses its tokens at once; an expired key's token never
outlives the key. A deactivated or deleted account's keys are refused the same way.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth_service.api_keys.schemas import ApiKeyCreated, ApiKeyIn, ApiKeyPublic, Exchanged
from auth_service.models import ApiKey, User
from auth_service.runtime import Runtime
from kit import account_state
from kit import api_keys as keys
from kit import jwt as kjwt
from kit.db import after_commit, utcnow
from kit.errors import Conflict, FieldErrors, NotFound

# A key's token lives a minute: `last_used_at` is as fresh as that, and a token is never
# refused by its own age in the middle of a program's work for long.
TOKEN_LIFETIME = timedelta(seconds=60)
MAX_KEYS = 100  # live keys per user


class ApiKeyNotFound(NotFound):
    code = "api_key_not_found"

    def __init__(self) -> None:
        super().__init__("No such API key.")


def public(key: ApiKey) -> ApiKeyPublic:
    return ApiKeyPublic(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        scopes=key.scopes,
        created_at=key.created_at,
        expires_at=key.expires_at,
        last_used_at=key.last_used_at,
    )


async def live_keys(session: AsyncSession, user_id: uuid.UUID) -> list[ApiKey]:
    """The user's keys that are not revoked (expired ones included: they show as expired)."""
    result = await session.exec(
        select(ApiKey)
        .where(ApiKey.user_id == user_id, col(ApiKey.revoked_at).is_(None))
        .order_by(col(ApiKey.created_at).desc())
    )
    return list(result.all())


async def create(session: AsyncSession, user: User, data: ApiKeyIn) -> ApiKeyCreated:
    now = utcnow()
    if data.expires_at is not None and data.expires_at <= now:
        raise FieldErrors({"expires_at": ["Choose a time in the future."]})
    if len(await live_keys(session, user.id)) >= MAX_KEYS:
        raise Conflict(f"You have {MAX_KEYS} API keys; revoke one first.", code="too_many_keys")
    secret = keys.new_key()
    key = ApiKey(
        user_id=user.id,
        name=data.name,
        prefix=secret[: keys.PREFIX_LENGTH],
        key_hash=keys.digest(secret),
        scopes=[s for s in kjwt.KEY_SCOPES if s in data.scopes],  # one order, no repeats
        created_at=now,
        expires_at=data.expires_at,
    )
    session.add(key)
    await session.flush()
    return ApiKeyCreated(**public(key).model_dump(), key=secret)


def refuse_tokens_after_commit(
    runtime: Runtime, session: AsyncSession, key_ids: list[uuid.UUID]
) -> None:
    """Mark the keys' tokens revoked in Redis once the change is committed (the gateway checks
    the mark on every request); the mark outlives the longest token a key was given."""
    if not key_ids:
        return
    ttl = int(TOKEN_LIFETIME.total_seconds()) + 60

    async def publish() -> None:
        async with runtime.redis.pipeline(transaction=False) as pipe:
            for key_id in key_ids:
                pipe.set(account_state.revoked_session_key(key_id), "1", ex=ttl)
            await pipe.execute()

    after_commit(session, publish)


async def revoke(
    runtime: Runtime, session: AsyncSession, user_id: uuid.UUID, key_id: uuid.UUID
) -> None:
    key = await session.get(ApiKey, key_id)
    if key is None or key.user_id != user_id or key.revoked_at is not None:
        raise ApiKeyNotFound()
    key.revoked_at = utcnow()
    session.add(key)
    await session.flush()
    refuse_tokens_after_commit(runtime, session, [key.id])


async def refuse_all(runtime: Runtime, session: AsyncSession, user_id: uuid.UUID) -> None:
    """A deactivated or deleted account: its keys' tokens stop at once (the keys of a
    reactivated account work again once the marks lapse, two minutes at most)."""
    refuse_tokens_after_commit(runtime, session, [k.id for k in await live_keys(session, user_id)])


async def exchange(runtime: Runtime, session: AsyncSession, presented: str) -> Exchanged:
    """A short-lived access token for a live key of an active account; else `invalid_api_key`."""
    if not keys.well_formed(presented):
        raise keys.InvalidApiKey()
    now = utcnow()
    result = await session.exec(select(ApiKey).where(ApiKey.key_hash == keys.digest(presented)))
    key = result.first()
    if key is None or key.revoked_at is not None:
        raise keys.InvalidApiKey()
    if key.expires_at is not None and key.expires_at <= now:
        raise keys.InvalidApiKey("This API key has expired.")
    user = await session.get(User, key.user_id)
    if user is None or not user.is_active:
        raise keys.InvalidApiKey("The account of this API key is not active.")
    lifetime = TOKEN_LIFETIME
    if key.expires_at is not None:
        lifetime = min(lifetime, key.expires_at - now)
    key.last_used_at = now
    session.add(key)
    s = runtime.settings
    token = kjwt.sign_access_token(
        runtime.keys.signing,
        issuer=s.jwt_issuer,
        audience=s.jwt_audience,
        user_id=user.id,
        session_id=key.id,
        email_confirmed=user.is_email_confirmed,
        staff=False,  # a key never acts as staff
        lifetime=lifetime,
        now=now,
        scopes=tuple(key.scopes),
    )
    return Exchanged(access_token=token, expires_in=max(1, int(lifetime.total_seconds())))
