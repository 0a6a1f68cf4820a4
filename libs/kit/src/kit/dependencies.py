"""FastAPI dependencies every service shares.

A service keeps its process-wide objects on `app.state.runtime`, with at least `db` (a
`kit.db.Database`) and `verifier` (a `kit.jwt.JWKSVerifier`); services with costly writes also
`limiter` (a `kit.ratelimit.RateLimiter`) and `write_limits` (from `kit.ratelimit.write_limits`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response
from sqlmodel.ext.asyncio.session import AsyncSession

from kit.db import Database
from kit.errors import ServiceUnavailable
from kit.internal import check_internal_token
from kit.jwt import AccessClaims, JWKSVerifier, bearer_token

log = logging.getLogger(__name__)


async def request_session(request: Request) -> AsyncIterator[AsyncSession]:
    db: Database = request.app.state.runtime.db
    async with db.session() as session:
        yield session


# scope="function": the transaction commits before the response is sent, so a client that
# reads right after a 2xx sees the change.
SessionDep = Annotated[AsyncSession, Depends(request_session, scope="function")]


async def request_claims(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> AccessClaims:
    """The verified access token of the caller (401 problem when missing or invalid)."""
    verifier: JWKSVerifier = request.app.state.runtime.verifier
    return await verifier.verify(bearer_token(authorization))


ClaimsDep = Annotated[AccessClaims, Depends(request_claims)]


def costly_write(name: str) -> Any:
    """A route dependency that counts the caller's write against limit `name` before the route
    stores or queues anything: 429 with `Retry-After` past it, `RateLimit` headers either way."""

    async def limited(request: Request, response: Response, claims: ClaimsDep) -> None:
        await count_write(request, response, name, claims)

    return Depends(limited)


async def count_write(
    request: Request, response: Response, name: str, claims: AccessClaims
) -> None:
    """Count one costly write of the caller against limit `name` (see `costly_write`)."""
    runtime = request.app.state.runtime
    limit = runtime.write_limits.get(name)
    if limit is None:
        return  # turned off in the settings
    try:
        decision = await runtime.limiter.hit(limit, str(claims.user_id))
    except ServiceUnavailable:
        # Redis is away: the write goes ahead unlimited rather than refused, and fails on its
        # own if it needs Redis too (a message cannot be queued); sign-in limits fail closed
        log.warning("rate limiter unavailable; %s not counted", name)
        return
    response.headers.update(decision.headers)


async def require_internal(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> None:
    """`/internal/*` routes: only Parley's own services, with `Bearer $PARLEY_INTERNAL_TOKEN`."""
    check_internal_token(authorization, request.app.state.runtime.settings.internal_token)


Internal = Depends(require_internal)
