from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from kit.schemas import Input

EventType = Literal["message.completed", "message.failed"]
ALL_EVENTS: list[EventType] = ["message.completed", "message.failed"]


class WebhookCreate(Input):
    url: Annotated[str, Field(min_length=1, max_length=2000)]
    events: Annotated[list[EventType], Field(min_length=1)] = Field(
        default_factory=lambda: list(ALL_EVENTS)
    )


class WebhookUpdate(Input):
    url: Annotated[str, Field(min_length=1, max_length=2000)] | None = None
    events: Annotated[list[EventType], Field(min_length=1)] | None = None
    disabled: bool | None = Field(
        None, description="`false` enables a disabled endpoint again (its failure count restarts)."
    )


class WebhookPublic(BaseModel):
    id: uuid.UUID
    url: str
    events: list[str]
    created_at: datetime
    disabled: bool
    disabled_reason: str | None
    failed_deliveries: int = Field(
        description="Deliveries since the last success that used up every attempt."
    )
    previous_secret_expires_at: datetime | None = Field(
        description="After a rotation: until when the previous secret still signs deliveries."
    )


class SecretRotated(BaseModel):
    secret: str = Field(description="The new signing secret; shown only in this response.")
    previous_secret_expires_at: datetime


class WebhookCreated(WebhookPublic):
    secret: str = Field(description="The signing secret; shown only in this response.")


class WebhookList(BaseModel):
    data: list[WebhookPublic]


class AttemptPublic(BaseModel):
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryPublic(BaseModel):
    id: str
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    attempt_log: list[AttemptPublic]


class DeliveryList(BaseModel):
    data: list[DeliveryPublic]
