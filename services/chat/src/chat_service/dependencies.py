"""Request dependencies shared by chat's domains: runtime, DB session, the caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from chat_service.runtime import Runtime
from kit.dependencies import ClaimsDep as ClaimsDep
from kit.dependencies import SessionDep as SessionDep
from kit.internal import check_internal_token


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


Caller = ClaimsDep


async def require_internal(
    runtime: RuntimeDep, authorization: Annotated[str | None, Header()] = None
) -> None:
    check_internal_token(authorization, runtime.settings.internal_token)


Internal = Depends(require_internal)
