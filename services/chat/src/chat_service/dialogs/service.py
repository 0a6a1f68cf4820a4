"""Dialogs: creation (optionally with a first message), naming, the model they use."""

from __future__ import annotations

import uuid

from sqlmodel.ext.asyncio.session import AsyncSession

from chat_service.agents import service as agents
from chat_service.agents.schemas import ASSISTANT_ID
from chat_service.dialogs.schemas import DialogCreate
from chat_service.messages import posting
from chat_service.models import Dialog, Message
from chat_service.runtime import Runtime
from chat_service.workspaces import service as workspaces
from kit.errors import FieldErrors, NotFound
from kit.jwt import AccessClaims

TITLE_CHARS = 60


class DialogNotFound(NotFound):
    code = "dialog_not_found"

    def __init__(self) -> None:
        super().__init__("No such dialog.")


def title_from(text: str) -> str:
    """A dialog name from its first message: the first line, cut at a word boundary."""
    line = " ".join(text.strip().split())
    if len(line) <= TITLE_CHARS:
        return line
    cut = line[:TITLE_CHARS].rsplit(" ", 1)[0] or line[:TITLE_CHARS]
    return cut + "…"


async def default_agent(
    runtime: Runtime, session: AsyncSession, caller: AccessClaims, agent_id: uuid.UUID | None
) -> uuid.UUID | None:
    """A dialog's default agent as stored (None: the assistant); 422 on `agent_id` for an
    agent the caller may not use."""
    if agent_id is None or agent_id == ASSISTANT_ID:
        return None
    return (await agents.usable_or_422(runtime, session, caller, agent_id)).id


async def create_dialog(
    runtime: Runtime, session: AsyncSession, caller: AccessClaims, data: DialogCreate
) -> tuple[Dialog, Message | None]:
    place = workspaces.personal_id(caller.user_id)
    if data.workspace_id is not None and data.workspace_id != place:
        try:
            await workspaces.membership(session, caller, data.workspace_id)
        except workspaces.WorkspaceNotFound:
            raise FieldErrors({"workspace_id": ["No such workspace."]}) from None
        place = data.workspace_id
    chosen = await runtime.catalog.check(data.model) or await runtime.catalog.default()
    name = data.name or (title_from(data.message_text) if data.message_text else "New chat")
    dialog = Dialog(
        user_id=caller.user_id,
        workspace_id=place,
        visibility=data.visibility,
        name=name,
        model=chosen.id if chosen else runtime.settings.default_model,
        instructions=data.instructions,
        agent_id=await default_agent(runtime, session, caller, data.agent_id),
    )
    if data.message_text is None:
        session.add(dialog)
        await session.flush()
        return dialog, None
    # posting the message adds the dialog too, after queueing the answer (see `enqueue`)
    message = await posting.post_message(runtime, session, caller, dialog, data.message_text, None)
    return dialog, message
