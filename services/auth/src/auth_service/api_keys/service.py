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

from sqlmodel.ext.asyncio.session import AsyncSession

from auth_service.api_keys import repository as repo
from auth_service.api_keys.schemas import ApiKeyCreated, ApiKeyIn, ApiKeyPublic, Exchanged
from auth_service.models import ApiKey, User
from auth_service.runtime import Runtime
from auth_service.sessions import service as sessions
from kit import api_keys as keys
from kit import jwt as kjwt
from kit.db import utcnow
from kit.errors import Conflict, FieldErrors, NotFound

# A key's token lives a minute: `last_used_at` is as fresh as that, and a token is never
# refused by its own age in the middle of a program's work for long.
TOKEN_LIFETIME = timedelta(seconds=60)
MAX_KEYS = 100  # live keys per user
MARK_SECONDS = int(TOKEN_LIFETIME.total_seconds()) + 60  # a revocation mark outlives any token


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


async def create(session: AsyncSession, user: User, data: ApiKeyIn) -> ApiKeyCreated:
    now = utcnow()
    if data.expires_at is not None and data.expires_at <= now:
        raise FieldErrors({"expires_at": ["Choose a time in the future."]})
    if len(await repo.live_keys(session, user.id)) >= MAX_KEYS:
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


async def revoke(
    runtime: Runtime, session: AsyncSession, user_id: uuid.UUID, key_id: uuid.UUID
) -> None:
    key = await session.get(ApiKey, key_id)
    if key is None or key.user_id != user_id or key.revoked_at is not None:
        raise ApiKeyNotFound()
    key.revoked_at = utcnow()
    session.add(key)
    await session.flush()
    sessions.mark_revoked_after_commit(runtime, session, [key.id], MARK_SECONDS)


async def refuse_all(runtime: Runtime, session: AsyncSession, user_id: uuid.UUID) -> None:
    """A deactivated or deleted account: its keys' tokens stop at once (the keys of a
    reactivated account work again once the marks lapse, two minutes at most)."""
    ids = [k.id for k in await repo.live_keys(session, user_id)]
    sessions.mark_revoked_after_commit(runtime, session, ids, MARK_SECONDS)


async def exchange(runtime: Runtime, session: AsyncSession, presented: str) -> Exchanged:
    """A short-lived access token for a live key of an active account; else `invalid_api_key`."""
    if not keys.well_formed(presented):
        raise keys.InvalidApiKey()
    now = utcnow()
    key = await repo.by_hash(session, keys.digest(presented))
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
        username=user.username,
        staff=False,  # a key never acts as staff
        lifetime=lifetime,
        now=now,
        scopes=tuple(key.scopes),
    )
    return Exchanged(access_token=token, expires_in=max(1, int(lifetime.total_seconds())))
