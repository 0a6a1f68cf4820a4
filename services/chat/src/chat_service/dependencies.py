"""Request dependencies shared by chat's domains: runtime, DB session, the caller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlmodel.ext.asyncio.session import AsyncSession

from chat_service.runtime import Runtime
from kit.internal import check_internal_token
from kit.jwt import AccessClaims, bearer_token


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    async with runtime.db.session() as session:
        yield session


# scope="function": commit before the response is sent.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_claims(
    runtime: RuntimeDep, authorization: Annotated[str | None, Header()] = None
) -> AccessClaims:
    return await runtime.verifier.verify(bearer_token(authorization))


Caller = Annotated[AccessClaims, Depends(get_claims)]


async def require_internal(
    runtime: RuntimeDep, authorization: Annotated[str | None, Header()] = None
) -> None:
    check_internal_token(authorization, runtime.settings.internal_token)


Internal = Depends(require_internal)
