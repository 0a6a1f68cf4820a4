from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from chat_service.agents.schemas import ASSISTANT_ID
from chat_service.messages.schemas import MessagePublic, MessageText, ModelId
from chat_service.models import Dialog
from kit.schemas import Input

DialogName = Annotated[str, Field(min_length=1, max_length=200)]


DialogInstructions = Annotated[str, Field(max_length=8000)]
# `private`: its maker's alone; `workspace`: every member of its workspace reads and posts
Visibility = Literal["private", "workspace"]


class DialogCreate(Input):
    name: DialogName | None = None
    model: ModelId | None = None
    agent_id: uuid.UUID | None = None  # who answers by default (the assistant when not given)
    instructions: DialogInstructions = ""  # sent after the agent's
    message_text: MessageText | None = None
    workspace_id: uuid.UUID | None = None  # default: the caller's personal workspace
    visibility: Visibility = "private"


class DialogUpdate(Input):
    name: DialogName | None = None
    model: ModelId | None = None
    agent_id: uuid.UUID | None = None
    instructions: DialogInstructions | None = None
    visibility: Visibility | None = None


class DialogPublic(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID  # who made it
    workspace_id: uuid.UUID
    visibility: Visibility
    name: str
    model: str
    agent_id: uuid.UUID  # who answers a message that names nobody
    instructions: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, dialog: Dialog) -> DialogPublic:
        return cls(
            id=dialog.id,
            user_id=dialog.user_id,
            workspace_id=dialog.workspace_id,
            visibility=dialog.visibility,
            name=dialog.name,
            model=dialog.model,
            agent_id=dialog.agent_id or ASSISTANT_ID,
            instructions=dialog.instructions,
            created_at=dialog.created_at,
            updated_at=dialog.updated_at,
        )


class DialogCreated(DialogPublic):
    message: MessagePublic | None = None


class DialogPage(BaseModel):
    data: list[DialogPublic]
    next_cursor: str | None
