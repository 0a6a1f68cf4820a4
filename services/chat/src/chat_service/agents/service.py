"""Agents (docs/DESIGN.md §9): who may use, make and change which, and who answers a message.

A user may use the system agents (made by staff), the built-in `assistant` among them, their
own personal ones, and those of the workspaces they are in (§10; made and changed by the
workspace's owners and admins). A mention resolves personal → the dialog's workspace →
system. Anyone else's agent is, to everyone else, a 404.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from chat_service.agents.schemas import (
    ASSISTANT_ID,
    AgentCreate,
    AgentPublic,
    AgentRef,
    AgentUpdate,
)
from chat_service.models import Agent
from chat_service.runtime import Runtime
from chat_service.workspaces import repository as workspace_repo
from kit.db import utcnow
from kit.errors import Conflict, FieldErrors, Forbidden, NotFound
from kit.jwt import AccessClaims

MENTION = re.compile(r"^@([a-z][a-z0-9_-]{1,31})(?=\s|$)")
BUILT_IN_SINCE = datetime(2026, 1, 1, tzinfo=UTC)


class AgentNotFound(NotFound):
    code = "agent_not_found"

    def __init__(self) -> None:
        super().__init__("No such agent.")


def assistant(runtime: Runtime) -> Agent:
    """The built-in agent: the default model and `PARLEY_SYSTEM_PROMPT`, never stored."""
    return Agent(
        id=ASSISTANT_ID,
        handle="assistant",
        name="Assistant",
        description="The built-in assistant.",
        model=None,
        instructions=runtime.settings.system_prompt,
        scope="system",
        owner="system",
        created_at=BUILT_IN_SINCE,
        updated_at=BUILT_IN_SINCE,
    )


def public(runtime: Runtime, agent: Agent) -> AgentPublic:
    return AgentPublic.model_validate(
        {**agent.model_dump(), "avatar_url": runtime.avatars.url(agent.avatar)}
    )


def ref(runtime: Runtime, agent: Agent) -> dict[str, object]:
    """What a message keeps of the agent that answers it."""
    shown = AgentRef(
        id=agent.id,
        handle=agent.handle,
        name=agent.name,
        avatar_url=runtime.avatars.url(agent.avatar),
    )
    return shown.model_dump(mode="json")


async def set_avatar(runtime: Runtime, session: AsyncSession, agent: Agent, data: bytes) -> Agent:
    """A new avatar for the agent (the old files go once the change is committed)."""
    old, agent.avatar = agent.avatar, await runtime.avatars.accept(data)
    agent.updated_at = utcnow()
    session.add(agent)
    await session.flush()
    runtime.avatars.remove_after_commit(session, old)
    return agent


async def remove_avatar(runtime: Runtime, session: AsyncSession, agent: Agent) -> Agent:
    old, agent.avatar = agent.avatar, None
    agent.updated_at = utcnow()
    session.add(agent)
    await session.flush()
    runtime.avatars.remove_after_commit(session, old)
    return agent


async def delete(runtime: Runtime, session: AsyncSession, agent: Agent) -> None:
    """Delete an agent; dialogs it was the default of are answered by the assistant."""
    await session.delete(agent)
    runtime.avatars.remove_after_commit(session, agent.avatar)


def _owners_usable_by(
    caller: AccessClaims, workspaces: list[uuid.UUID] | tuple[uuid.UUID, ...] = ()
) -> tuple[str, ...]:
    """Whose agents the caller may use (`Agent.owner`): the system's, their own, and those of
    `workspaces` (ones they are in)."""
    return ("system", f"user:{caller.user_id}", *(f"ws:{w}" for w in workspaces))


async def usable(runtime: Runtime, session: AsyncSession, caller: AccessClaims) -> list[Agent]:
    """The agents the caller may use: the assistant first, then by handle."""
    mine = [m.workspace_id for m in await workspace_repo.memberships(session, caller.user_id)]
    query = select(Agent).where(col(Agent.owner).in_(_owners_usable_by(caller, mine)))
    rows = await session.exec(query.order_by(col(Agent.handle)))
    return [assistant(runtime), *rows.all()]


async def get_usable(
    runtime: Runtime, session: AsyncSession, caller: AccessClaims, agent_id: uuid.UUID
) -> Agent | None:
    if agent_id == ASSISTANT_ID:
        return assistant(runtime)
    agent = await session.get(Agent, agent_id)
    if agent is None:
        return None
    if agent.workspace_id is not None:  # a workspace's: for its members now
        member = await workspace_repo.membership(session, agent.workspace_id, caller.user_id)
        return agent if member is not None else None
    return agent if agent.owner in _owners_usable_by(caller) else None


async def usable_or_422(
    runtime: Runtime, session: AsyncSession, caller: AccessClaims, agent_id: uuid.UUID
) -> Agent:
    """The agent `agent_id` names, if the caller may use it; else a 422 on `agent_id`."""
    agent = await get_usable(runtime, session, caller, agent_id)
    if agent is None:
        raise FieldErrors({"agent_id": ["No agent you may use has this id."]})
    return agent


async def by_handle(
    runtime: Runtime,
    session: AsyncSession,
    caller: AccessClaims,
    handle: str,
    workspace_id: uuid.UUID | None = None,
) -> Agent | None:
    """The agent a `@handle` names for the caller: their own first, then the workspace's (of
    the dialog, which the caller may read: a member), then the system's."""
    place = () if workspace_id is None else (workspace_id,)
    owners = _owners_usable_by(caller, place)
    found = {
        a.owner: a
        for a in await session.exec(
            select(Agent).where(col(Agent.handle) == handle, col(Agent.owner).in_(owners))
        )
    }
    agent = (
        found.get(f"user:{caller.user_id}")
        or (found.get(f"ws:{workspace_id}") if workspace_id else None)
        or found.get("system")
    )
    if agent is None and handle == "assistant":
        return assistant(runtime)
    return agent


def mention(text: str) -> tuple[str, str] | None:
    """(handle, the text without it) when `text` starts with `@handle`."""
    match = MENTION.match(text)
    if match is None:
        return None
    return match.group(1), text[match.end() :].lstrip()


async def create(
    runtime: Runtime, session: AsyncSession, caller: AccessClaims, data: AgentCreate
) -> Agent:
    if data.scope == "system" and not caller.staff:
        raise Forbidden("Only staff may make system agents.", code="staff_only")
    owner = "system" if data.scope == "system" else f"user:{caller.user_id}"
    if data.scope == "workspace":
        await _manager_of(session, caller, data.workspace_id)
        owner = f"ws:{data.workspace_id}"
    model = await runtime.catalog.check(data.model)
    agent = Agent(
        **data.model_dump(exclude={"model", "scope", "workspace_id"}),
        model=model.id if model else None,
        scope=data.scope,
        workspace_id=data.workspace_id if data.scope == "workspace" else None,
        owner=owner,
        created_by=caller.user_id,
    )
    await _save(session, agent)
    return agent


async def editable(
    runtime: Runtime, session: AsyncSession, caller: AccessClaims, agent_id: uuid.UUID
) -> Agent:
    """An agent the caller may change: their own, or (staff) a system one."""
    if agent_id == ASSISTANT_ID:
        raise Conflict("The built-in assistant follows the settings.", code="agent_built_in")
    agent = await get_usable(runtime, session, caller, agent_id)
    if agent is None:
        raise AgentNotFound()
    if agent.scope == "system" and not caller.staff:
        raise Forbidden("Only staff may change system agents.", code="staff_only")
    if agent.workspace_id is not None:
        await _manager_of(session, caller, agent.workspace_id)
    return agent


async def _manager_of(
    session: AsyncSession, caller: AccessClaims, workspace_id: uuid.UUID | None
) -> None:
    """Workspace agents are made and changed by the workspace's owners and admins."""
    member = None
    if workspace_id is not None:
        member = await workspace_repo.membership(session, workspace_id, caller.user_id)
    if member is None:
        raise FieldErrors({"workspace_id": ["No such workspace."]})
    if member.role not in ("owner", "admin"):
        raise Forbidden(
            "Only the workspace's owners and admins manage its agents.",
            code="workspace_role_required",
        )


async def update(runtime: Runtime, session: AsyncSession, agent: Agent, data: AgentUpdate) -> Agent:
    changes = data.model_dump(exclude_unset=True)
    if "model" in changes:
        model = await runtime.catalog.check(changes["model"])
        changes["model"] = model.id if model else None
    for name, value in changes.items():
        if value is not None or name in ("model", "temperature"):
            setattr(agent, name, value)
    agent.updated_at = utcnow()
    await _save(session, agent)
    return agent


async def _save(session: AsyncSession, agent: Agent) -> None:
    try:
        async with session.begin_nested():
            session.add(agent)
    except IntegrityError:
        raise FieldErrors(
            {"handle": ["This handle is taken; choose another."]}, code="handle_taken"
        ) from None


async def addressed(
    runtime: Runtime,
    session: AsyncSession,
    caller: AccessClaims,
    dialog_agent_id: uuid.UUID | None,
    text: str,
    agent_id: uuid.UUID | None,
    workspace_id: uuid.UUID | None = None,
) -> Agent:
    """Who answers a new message: the `agent_id` asked for (422 on it if the caller may not use
    it), else the agent a leading `@handle` names, else the dialog's (the assistant if gone)."""
    if agent_id is not None:
        return await usable_or_422(runtime, session, caller, agent_id)
    if (mentioned := mention(text)) and (
        agent := await by_handle(runtime, session, caller, mentioned[0], workspace_id)
    ):
        return agent
    if dialog_agent_id is not None:
        agent = await get_usable(runtime, session, caller, dialog_agent_id)
        if agent is not None:
            return agent
    return assistant(runtime)


async def answering(
    runtime: Runtime, session: AsyncSession, agent: dict[str, object] | None
) -> Agent:
    """The agent a stored message names (the assistant for none, or one deleted since)."""
    if agent is None:
        return assistant(runtime)
    row = await session.get(Agent, uuid.UUID(str(agent["id"])))
    return row if row is not None else assistant(runtime)


def text_for_model(message_text: str, agent: dict[str, object] | None) -> str:
    """The message as the model gets it: without the mention that chose its agent."""
    mentioned = mention(message_text)
    handle = agent.get("handle") if agent is not None else "assistant"
    if mentioned and mentioned[0] == handle:
        return mentioned[1]
    return message_text
