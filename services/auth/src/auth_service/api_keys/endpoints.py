"""`/api/keys` (a person's session only: a key can never make or list keys) and the gateway's
`/internal/keys/exchange`."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from auth_service.api_keys import repository, service
from auth_service.api_keys.schemas import (
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyList,
    Exchanged,
    ExchangeIn,
)
from auth_service.dependencies import CurrentUser, Internal, RuntimeDep, SessionDep

router = APIRouter()
internal = APIRouter(prefix="/internal", dependencies=[Internal], include_in_schema=False)
NO_CONTENT = status.HTTP_204_NO_CONTENT


@router.post("/api/keys", response_model=ApiKeyCreated, status_code=201)
async def create_key(data: ApiKeyIn, user: CurrentUser, session: SessionDep) -> ApiKeyCreated:
    """A new API key; the `key` itself is in this answer only."""
    return await service.create(session, user, data)


@router.get("/api/keys", response_model=ApiKeyList)
async def list_keys(user: CurrentUser, session: SessionDep) -> ApiKeyList:
    """Your keys that are not revoked, newest first (never the keys themselves)."""
    return ApiKeyList(
        data=[service.public(k) for k in await repository.live_keys(session, user.id)]
    )


@router.delete(
    "/api/keys/{key_id}",
    status_code=NO_CONTENT,
    responses={404: {"description": "Not one of your keys"}},
)
async def revoke_key(
    key_id: uuid.UUID, user: CurrentUser, runtime: RuntimeDep, session: SessionDep
) -> Response:
    """Revoke a key: requests with it are refused at once."""
    await service.revoke(runtime, session, user.id, key_id)
    return Response(status_code=NO_CONTENT)


@internal.post("/keys/exchange", response_model=Exchanged)
async def exchange(data: ExchangeIn, runtime: RuntimeDep, session: SessionDep) -> Exchanged:
    return await service.exchange(runtime, session, data.key)
