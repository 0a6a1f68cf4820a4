from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from chat_service.messages.schemas import MessagePublic, MessageText, ModelId
from chat_service.models import Dialog
from kit.schemas import Input

DialogName = Annotated[str, Field(min_length=1, max_length=200)]


class DialogCreate(Input):
    name: DialogName | None = None
    model: ModelId | None = None
    message_text: MessageText | None = None


class DialogUpdate(Input):
    name: DialogName | None = None
    model: ModelId | None = None


class DialogPublic(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    model: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, dialog: Dialog) -> DialogPublic:
        return cls.model_validate(dialog, from_attributes=True)


class DialogCreated(DialogPublic):
    message: MessagePublic | None = None


class DialogPage(BaseModel):
    data: list[DialogPublic]
    next_cursor: str | None
