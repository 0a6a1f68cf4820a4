from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from chat_service.agents.schemas import ASSISTANT_REF, AgentRef
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
    # who answers; without it a leading `@handle` chooses, else the dialog's agent
    agent_id: uuid.UUID | None = None


class Author(BaseModel):
    user_id: uuid.UUID
    username: str  # as it was when the message was posted


class MessagePublic(BaseModel):
    id: uuid.UUID
    dialog_id: uuid.UUID
    author: Author
    message_text: str
    answer_text: str
    status: str
    model: str
    agent: AgentRef  # who answers (the assistant unless another was addressed)
    error: AnswerError | None
    usage: dict[str, int] | None
    created_at: datetime
    completed_at: datetime | None

    @classmethod
    def of(cls, message: Message) -> MessagePublic:
        return cls(
            id=message.id,
            dialog_id=message.dialog_id,
            author=Author(user_id=message.user_id, username=message.author_name),
            message_text=message.message_text,
            answer_text=message.answer_text,
            status=message.status,
            model=message.model,
            agent=AgentRef.model_validate(message.agent) if message.agent else ASSISTANT_REF,
            error=AnswerError.model_validate(message.error) if message.error else None,
            usage=message.usage,
            created_at=message.created_at,
            completed_at=message.completed_at,
        )


class MessagePage(BaseModel):
    data: list[MessagePublic]
    next_cursor: str | None
