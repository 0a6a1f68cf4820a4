from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

from kit.schemas import Input

HANDLE = r"^[a-z][a-z0-9_-]{1,31}$"


def _not_built_in(handle: str) -> str:
    if handle == "assistant":
        raise ValueError("This handle is the built-in assistant's.")
    return handle


Handle = Annotated[
    str,
    Field(pattern=HANDLE, description="How messages address it: `@handle`."),
    AfterValidator(_not_built_in),
]
AgentName = Annotated[str, Field(min_length=1, max_length=64)]
Description = Annotated[str, Field(max_length=500)]
Instructions = Annotated[str, Field(max_length=8000)]
Temperature = Annotated[float, Field(ge=0, le=2)]
ModelId = Annotated[str, Field(min_length=1, max_length=100)]


class AgentCreate(Input):
    handle: Handle
    name: AgentName
    description: Description = ""
    model: ModelId | None = None  # None: the default model
    instructions: Instructions = ""
    temperature: Temperature | None = None
    # system: staff only; workspace: for every member of `workspace_id`, made by its managers
    scope: Literal["personal", "workspace", "system"] = "personal"
    workspace_id: uuid.UUID | None = None


class AgentUpdate(Input):
    handle: Handle | None = None
    name: AgentName | None = None
    description: Description | None = None
    model: ModelId | None = None
    instructions: Instructions | None = None
    temperature: Temperature | None = None


class AgentRef(BaseModel):
    """Who answered a message, as shown beside it."""

    id: uuid.UUID
    handle: str
    name: str
    avatar_url: str | None = None


ASSISTANT_ID = uuid.UUID("a5515a47-0000-4000-8000-000000000001")
# how a message answered by the built-in assistant names it
ASSISTANT_REF = AgentRef(id=ASSISTANT_ID, handle="assistant", name="Assistant")


class AgentPublic(AgentRef):
    description: str
    model: str | None
    instructions: str
    temperature: float | None
    scope: str
    workspace_id: uuid.UUID | None
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class AgentList(BaseModel):
    data: list[AgentPublic]
