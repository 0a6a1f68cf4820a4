"""`/api/agents`: the agents a user may address, their own to make and change (docs §9)."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response, UploadFile, status
from fastapi.responses import FileResponse

from chat_service.agents import service
from chat_service.agents.schemas import AgentCreate, AgentList, AgentPublic, AgentUpdate
from chat_service.dependencies import Caller, RuntimeDep, SessionDep
from kit.avatars.store import AVATAR_HEADERS
from kit.dependencies import costly_write
from kit.errors import NotFound

router = APIRouter(prefix="/api/agents", tags=["agents"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such agent (or not yours to use)."}
}


@router.get("", response_model=AgentList)
async def list_agents(caller: Caller, runtime: RuntimeDep, session: SessionDep) -> AgentList:
    """The agents the caller may address: the assistant, the system's, their own."""
    agents = await service.usable(runtime, session, caller)
    return AgentList(data=[service.public(runtime, a) for a in agents])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=AgentPublic,
    responses={403: {"description": "A system agent, asked for by someone not staff"}},
)
async def create_agent(
    data: AgentCreate, caller: Caller, runtime: RuntimeDep, session: SessionDep
) -> AgentPublic:
    """Make a personal agent (or, staff, a system one) with its model and instructions."""
    return service.public(runtime, await service.create(runtime, session, caller, data))


@router.get("/{agent_id}", response_model=AgentPublic, responses=NOT_FOUND)
async def get_agent(
    agent_id: uuid.UUID, caller: Caller, runtime: RuntimeDep, session: SessionDep
) -> AgentPublic:
    agent = await service.get_usable(runtime, session, caller, agent_id)
    if agent is None:
        raise service.AgentNotFound()
    return service.public(runtime, agent)


@router.patch(
    "/{agent_id}",
    response_model=AgentPublic,
    responses={**NOT_FOUND, 403: {}, 409: {"description": "The built-in assistant"}},
)
async def update_agent(
    agent_id: uuid.UUID,
    data: AgentUpdate,
    caller: Caller,
    runtime: RuntimeDep,
    session: SessionDep,
) -> AgentPublic:
    agent = await service.editable(runtime, session, caller, agent_id)
    return service.public(runtime, await service.update(runtime, session, agent, data))


@router.delete(
    "/{agent_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**NOT_FOUND, 403: {}, 409: {"description": "The built-in assistant"}},
)
async def delete_agent(
    agent_id: uuid.UUID, caller: Caller, runtime: RuntimeDep, session: SessionDep
) -> Response:
    """Delete an agent; dialogs it was the default of are answered by the assistant."""
    await service.delete(
        runtime, session, await service.editable(runtime, session, caller, agent_id)
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


AVATAR_UPLOAD = re.compile(r"^/api/agents/[^/]+/avatar$")


def is_avatar_upload(method: str, path: str) -> bool:
    return method == "PUT" and AVATAR_UPLOAD.match(path) is not None


@router.put(
    "/{agent_id}/avatar",
    response_model=AgentPublic,
    responses={**NOT_FOUND, 403: {}, 409: {}, 413: {"description": "The file is too large"}},
    dependencies=[costly_write("avatars")],
)
async def put_avatar(
    agent_id: uuid.UUID,
    file: UploadFile,
    caller: Caller,
    runtime: RuntimeDep,
    session: SessionDep,
) -> AgentPublic:
    """Give an agent an avatar (the same rules as a user's: JPEG, PNG or WebP, re-encoded)."""
    agent = await service.editable(runtime, session, caller, agent_id)
    data = await file.read(runtime.settings.avatar_max_bytes + 1)
    return service.public(runtime, await service.set_avatar(runtime, session, agent, data))


@router.delete(
    "/{agent_id}/avatar", response_model=AgentPublic, responses={**NOT_FOUND, 403: {}, 409: {}}
)
async def delete_avatar(
    agent_id: uuid.UUID, caller: Caller, runtime: RuntimeDep, session: SessionDep
) -> AgentPublic:
    agent = await service.editable(runtime, session, caller, agent_id)
    return service.public(runtime, await service.remove_avatar(runtime, session, agent))


@router.get(
    "/avatars/{name}",
    response_class=FileResponse,
    responses={200: {"content": {"image/webp": {}}}, 404: {"description": "No such avatar"}},
)
async def get_avatar(
    name: Annotated[str, Path(max_length=64)], runtime: RuntimeDep
) -> FileResponse:
    """An agent's avatar (`<name>.webp`, 512 px) or its thumbnail (`<name>-128.webp`)."""
    path = runtime.avatars.path(name)
    if path is None:
        raise NotFound("No such avatar.")
    return FileResponse(path, media_type="image/webp", headers=AVATAR_HEADERS)
