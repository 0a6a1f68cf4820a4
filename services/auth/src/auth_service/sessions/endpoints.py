from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Request, Response, status

from auth_service.accounts.endpoints import token_pair
from auth_service.accounts.schemas import TokenPair
from auth_service.client import client_ip, user_agent
from auth_service.dependencies import ClaimsDep, CurrentUser, RuntimeDep, SessionDep
from auth_service.sessions import service
from auth_service.sessions.schemas import RefreshIn, SessionList, SessionPublic

router = APIRouter()
NO_CONTENT = status.HTTP_204_NO_CONTENT


@router.post(
    "/api/auth/refresh",
    response_model=TokenPair,
    responses={401: {"description": "Unknown, expired, revoked or reused refresh token"}},
)
async def refresh(
    data: RefreshIn, request: Request, runtime: RuntimeDep, session: SessionDep
) -> TokenPair:
    """Trade a refresh token for a new access token and a rotated refresh token."""
    issued = await service.refresh(
        runtime, session, data.refresh_token, ip=client_ip(request), user_agent=user_agent(request)
    )
    return await token_pair(runtime, session, issued)


@router.post("/api/auth/logout", status_code=NO_CONTENT)
async def logout(
    runtime: RuntimeDep, session: SessionDep, data: Annotated[RefreshIn | None, Body()] = None
) -> Response:
    """End the session the refresh token belongs to."""
    if data is not None:
        auth_session = await service.session_of_token(session, data.refresh_token)
        if auth_session is not None:
            await service.revoke_sessions(runtime, session, [auth_session])
    return Response(status_code=NO_CONTENT)


@router.post("/api/auth/logout-all", status_code=NO_CONTENT)
async def logout_all(user: CurrentUser, runtime: RuntimeDep, session: SessionDep) -> Response:
    """End every session of the signed-in user, this one included."""
    await service.revoke_sessions(runtime, session, await service.active_sessions(session, user.id))
    return Response(status_code=NO_CONTENT)


@router.get("/api/auth/sessions", response_model=SessionList)
async def list_sessions(
    user: CurrentUser, claims: ClaimsDep, runtime: RuntimeDep, session: SessionDep
) -> SessionList:
    """The signed-in devices, most recently used first; `current` marks this one."""
    sessions = await service.live_sessions(runtime, session, user.id)
    return SessionList(
        data=[
            SessionPublic(
                id=s.id,
                created_at=s.created_at,
                last_used_at=s.last_used_at,
                user_agent=s.user_agent,
                ip=s.ip,
                current=s.id == claims.session_id,
            )
            for s in sessions
        ]
    )


@router.delete(
    "/api/auth/sessions/{session_id}",
    status_code=NO_CONTENT,
    responses={404: {"description": "Not one of your active sessions"}},
)
async def revoke_session(
    session_id: uuid.UUID, user: CurrentUser, runtime: RuntimeDep, session: SessionDep
) -> Response:
    """Sign one device out; its access token stops working at once."""
    await service.revoke_one(runtime, session, user.id, session_id)
    return Response(status_code=NO_CONTENT)
