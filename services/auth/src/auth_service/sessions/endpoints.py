from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Response, status
from pydantic import BaseModel, Field

from auth_service.accounts.endpoints import token_pair
from auth_service.accounts.schemas import TokenPair
from auth_service.dependencies import ClaimsDep, CurrentUser, RuntimeDep, SessionDep
from auth_service.sessions import service

router = APIRouter()


class RefreshIn(BaseModel):
    refresh_token: Annotated[str, Field(min_length=1, max_length=200)]


@router.post("/api/auth/refresh", response_model=TokenPair)
async def refresh(data: RefreshIn, runtime: RuntimeDep, session: SessionDep) -> TokenPair:
    """Trade a refresh token for a new access token and a rotated refresh token."""
    issued = await service.refresh(runtime, session, data.refresh_token)
    return await token_pair(runtime, session, issued)


@router.post("/api/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(
    runtime: RuntimeDep, session: SessionDep, data: Annotated[RefreshIn | None, Body()] = None
) -> Response:
    """End the session the refresh token belongs to."""
    if data is not None:
        auth_session = await service.session_of_token(session, data.refresh_token)
        if auth_session is not None:
            await service.revoke_sessions(runtime, session, [auth_session])
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/api/auth/logout-all", status_code=status.HTTP_204_NO_CONTENT)
async def logout_all(
    user: CurrentUser, claims: ClaimsDep, runtime: RuntimeDep, session: SessionDep
) -> Response:
    """End every session of the signed-in user, this one included."""
    await service.revoke_sessions(runtime, session, await service.active_sessions(session, user.id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
