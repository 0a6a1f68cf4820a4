from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints

from kit.schemas import Input

Scope = Literal["chat", "read", "webhooks"]


def _every_scope() -> list[Scope]:
    return ["chat", "read", "webhooks"]


KeyName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class ApiKeyIn(Input):
    name: KeyName
    expires_at: AwareDatetime | None = Field(
        None, description="When the key stops working; none: it works until revoked"
    )
    scopes: list[Scope] = Field(
        default_factory=_every_scope,
        min_length=1,
        description="`chat`: dialogs, messages, streams, /v1; `read`: read anything the key "
        "may see; `webhooks`: manage webhooks",
    )


class ApiKeyPublic(BaseModel):
    id: uuid.UUID
    name: str
    prefix: str = Field(description="The key's first characters, to tell keys apart")
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="The key itself: shown this once, never again")


class ApiKeyList(BaseModel):
    data: list[ApiKeyPublic]


class ExchangeIn(BaseModel):
    key: str


class Exchanged(BaseModel):
    """What the gateway forwards in the key's place: a short-lived access token."""

    access_token: str
    expires_in: int
