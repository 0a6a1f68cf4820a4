from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from kit.schemas import Input


class RefreshIn(Input):
    refresh_token: Annotated[str, Field(min_length=1, max_length=200)]


class SessionPublic(BaseModel):
    id: uuid.UUID
    created_at: datetime
    last_used_at: datetime
    user_agent: str
    ip: str
    current: bool = Field(description="True for the session of the access token used")


class SessionList(BaseModel):
    data: list[SessionPublic]
