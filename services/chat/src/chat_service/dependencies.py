"""Request dependencies shared by chat's domains: runtime, DB session, the caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from chat_service.runtime import Runtime
from kit.dependencies import ClaimsDep as ClaimsDep
from kit.dependencies import Internal as Internal
from kit.dependencies import SessionDep as SessionDep


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


Caller = ClaimsDep
