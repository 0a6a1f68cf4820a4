"""FastAPI dependencies every service shares.

A service keeps its process-wide objects on `app.state.runtime`, with at least `db` (a
`kit.db.Database`) and `verifier` (a `kit.jwt.JWKSVerifier`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlmodel.ext.asyncio.session import AsyncSession

from kit.db import Database
from kit.jwt import AccessClaims, JWKSVerifier, bearer_token


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
