from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field

from chat_service.models import Message
from kit.schemas import Input


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("Write a message first.")
    return value


MessageText = Annotated[str, Field(min_length=1, max_length=32_000), AfterValidator(_not_blank)]
ModelId = Annotated[str, Field(min_length=1, max_length=100)]


class MessageCreate(Input):
    message_text: MessageText
    model: ModelId | None = None


class MessageError(BaseModel):
    code: str
    message: str
    retryable: bool


class MessagePublic(BaseModel):
    id: uuid.UUID
    dialog_id: uuid.UUID
    message_text: str
    answer_text: str
    status: str
    model: str
    error: MessageError | None
    usage: dict[str, int] | None
    created_at: datetime
    completed_at: datetime | None

    @classmethod
    def of(cls, message: Message) -> MessagePublic:
        return cls.model_validate(message, from_attributes=True)


class MessagePage(BaseModel):
    data: list[MessagePublic]
    next_cursor: str | None


class StartItem(BaseModel):
    id: uuid.UUID
    generation: int


class StartIn(Input):
    """Answers a worker has begun (one call for all it began since its last call)."""

    messages: list[StartItem] = Field(min_length=1, max_length=1000)


StartOutcome = Literal["generating", "ended", "superseded", "unknown"]


class StartOut(BaseModel):
    messages: dict[uuid.UUID, StartOutcome]


class AnswerIn(Input):
    """The worker's final word on one generation of an answer."""

    generation: int
    status: Literal["completed", "failed"]
    answer_text: str = ""
    error: MessageError | None = None
    usage: dict[str, int] | None = None


class JobPayload(BaseModel):
    message_id: uuid.UUID
    generation: int
    model: str
    messages: list[dict[str, Any]]
