"""`/api/agents`: the agents a user may address, their own to make and change (docs §9)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response, status

from chat_service.agents import service
from chat_service.agents.schemas import AgentCreate, AgentList, AgentPublic, AgentUpdate
from chat_service.dependencies import Caller, RuntimeDep, SessionDep

router = APIRouter(prefix="/api/agents", tags=["agents"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such agent (or not yours to use)."}
}


@router.get("", response_model=AgentList)
async def list_agents(caller: Caller, runtime: RuntimeDep, session: SessionDep) -> AgentList:
    """The agents the caller may address: the assistant, the system's, their own."""
    agents = await service.usable(runtime, session, caller)
    return AgentList(data=[service.public(a) for a in agents])


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
    return service.public(await service.create(runtime, session, caller, data))


@router.get("/{agent_id}", response_model=AgentPublic, responses=NOT_FOUND)
async def get_agent(
    agent_id: uuid.UUID, caller: Caller, runtime: RuntimeDep, session: SessionDep
) -> AgentPublic:
    agent = await service.get_usable(runtime, session, caller, agent_id)
    if agent is None:
        raise service.AgentNotFound()
    return service.public(agent)


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
    return service.public(await service.update(runtime, session, agent, data))


@router.delete(
    "/{agent_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**NOT_FOUND, 403: {}, 409: {"description": "The built-in assistant"}},
)
async def delete_agent(
    agent_id: uuid.UUID, caller: Caller, runtime: RuntimeDep, session: SessionDep
) -> Response:
    """Delete an agent; dialogs it was the default of are answered by the assistant."""
    await session.delete(await service.editable(runtime, session, caller, agent_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
