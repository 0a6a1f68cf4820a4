from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from chat_service.models import Message
from kit.answer_jobs import AnswerError
from kit.schemas import Input


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("Write a message first.")
    return value


MAX_MESSAGE_CHARS = 32_000  # the web composer's maxLength says the same
MessageText = Annotated[
    str, Field(min_length=1, max_length=MAX_MESSAGE_CHARS), AfterValidator(_not_blank)
]
ModelId = Annotated[str, Field(min_length=1, max_length=100)]


class MessageCreate(Input):
    message_text: MessageText
    model: ModelId | None = None


class MessagePublic(BaseModel):
    id: uuid.UUID
    dialog_id: uuid.UUID
    message_text: str
    answer_text: str
    status: str
    model: str
    error: AnswerError | None
    usage: dict[str, int] | None
    created_at: datetime
    completed_at: datetime | None

    @classmethod
    def of(cls, message: Message) -> MessagePublic:
        return cls.model_validate(message, from_attributes=True)


class MessagePage(BaseModel):
    data: list[MessagePublic]
    next_cursor: str | None
