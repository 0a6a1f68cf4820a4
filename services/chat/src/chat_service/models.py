"""Chat's tables: dialogs and their messages (one message = one exchange)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    false,
    text,
)
from sqlmodel import Field, SQLModel

from kit.db import UTCDateTime, new_id, utcnow


class MessageStatus(StrEnum):
    queued = "queued"
    generating = "generating"  # shown, never stored: a queued message a worker holds the lease of
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in (MessageStatus.completed, MessageStatus.failed, MessageStatus.cancelled)


class Agent(SQLModel, table=True):
    """A named participant that answers (docs/DESIGN.md §9): its model and instructions.

    The built-in `assistant` is not stored (`agents.service.ASSISTANT`): it follows the settings.
    `owner` keeps handles unique where they are resolved: `system`, `user:{id}`, `ws:{id}`.
    """

    __tablename__ = "agent"
    __table_args__ = (UniqueConstraint("owner", "handle"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    handle: str = Field(max_length=32)
    name: str = Field(max_length=64)
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    model: str | None = Field(default=None, max_length=100)  # None: the default model
    instructions: str = Field(default="", sa_column=Column(Text, nullable=False))
    temperature: float | None = None
    avatar: str | None = Field(default=None, max_length=64)  # its file (kit.avatars.store)
    scope: str = Field(max_length=16)  # system | personal | workspace
    workspace_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid))
    owner: str = Field(max_length=64)
    created_by: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid, index=True))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class WorkspaceRole(StrEnum):
    owner = "owner"
    admin = "admin"
    member = "member"


class Workspace(SQLModel, table=True):
    """Where dialogs live and teammates meet (docs/DESIGN.md §10). A user's personal one has a
    fixed id (`workspaces.service.personal_id`), so placing a dialog there needs no lookup."""

    __tablename__ = "workspace"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(max_length=100)
    personal: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    created_by: uuid.UUID = Field(sa_column=Column(Uuid, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class WorkspaceMember(SQLModel, table=True):
    __tablename__ = "workspace_member"
    __table_args__ = (Index("ix_workspace_member_user", "user_id"),)

    workspace_id: uuid.UUID = Field(
        sa_column=Column(
            Uuid, ForeignKey("workspace.id", ondelete="CASCADE"), primary_key=True, nullable=False
        )
    )
    user_id: uuid.UUID = Field(sa_column=Column(Uuid, primary_key=True, nullable=False))
    role: str = Field(max_length=16)
    # as the member's last token said (`kit.jwt.AccessClaims.username`)
    username: str = Field(default="", max_length=150)
    joined_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class Invitation(SQLModel, table=True):
    """An invitation to a workspace, mailed with a single-use link (§10). Only the token's
    digest is kept; a re-sent invitation gets a new token and the old link stops working."""

    __tablename__ = "invitation"
    __table_args__ = (Index("ix_invitation_workspace", "workspace_id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    workspace_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("workspace.id", ondelete="CASCADE"), nullable=False)
    )
    email: str = Field(max_length=320)  # as typed, compared case-insensitively
    role: str = Field(max_length=16)
    token_digest: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    invited_by: uuid.UUID = Field(sa_column=Column(Uuid, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    accepted_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    accepted_by: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid))


class Dialog(SQLModel, table=True):
    __tablename__ = "dialog"
    __table_args__ = (
        Index("ix_dialog_user_updated", "user_id", "updated_at"),
        Index("ix_dialog_workspace_updated", "workspace_id", "updated_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(sa_column=Column(Uuid, nullable=False))  # who made it
    # where it lives (the maker's personal workspace unless another was chosen); `private`:
    # its maker's alone, `workspace`: every member reads and posts (§10)
    workspace_id: uuid.UUID = Field(sa_column=Column(Uuid, nullable=False))
    visibility: str = Field(
        default="private",
        sa_column=Column(String(16), nullable=False, server_default="private"),
    )
    name: str = Field(max_length=200)
    model: str = Field(max_length=100)
    # the dialog's own instructions, sent after its agent's
    instructions: str = Field(default="", sa_column=Column(Text, nullable=False))
    # who answers a message that names nobody; None (or a deleted agent): the assistant
    agent_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid))
    # a stateless `/v1/chat/completions` call: one exchange, kept for usage and polling but
    # not listed among the user's chats
    hidden: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    # a dialog reached as an OpenAI conversation keeps its `metadata` (§12)
    conversation_metadata: dict[str, str] | None = Field(default=None, sa_column=Column(JSON))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class Message(SQLModel, table=True):
    __tablename__ = "message"
    __table_args__ = (
        Index("ix_message_dialog_created", "dialog_id", "created_at"),
        # the sweep's reading (`generation.sweep`): the messages still waiting for an outcome
        Index(
            "ix_message_unanswered",
            "created_at",
            sqlite_where=text("status = 'queued'"),
            postgresql_where=text("status = 'queued'"),
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    dialog_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("dialog.id", ondelete="CASCADE"), nullable=False)
    )
    user_id: uuid.UUID = Field(sa_column=Column(Uuid, nullable=False, index=True))  # its author
    # the author's username when it was posted, shown to teammates (§10)
    author_name: str = Field(
        default="", sa_column=Column(String(150), nullable=False, server_default="")
    )
    message_text: str = Field(sa_column=Column(Text, nullable=False))
    answer_text: str = Field(default="", sa_column=Column(Text, nullable=False))
    status: str = Field(default=MessageStatus.queued, max_length=16)
    model: str = Field(max_length=100)
    # who answers, as they were named when it was posted ({id, handle, name, avatar_url});
    # None: the assistant
    agent: dict[str, object] | None = Field(default=None, sa_column=Column(JSON))
    error: dict[str, object] | None = Field(default=None, sa_column=Column(JSON))
    usage: dict[str, int] | None = Field(default=None, sa_column=Column(JSON))
    # which generation of the answer is current; a regenerate or retry bumps it, and a
    # callback for an older generation is ignored
    generation: int = 1
    # the API key it was posted with (None: a person's session): its usage is counted there
    key_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid))
    # a program's own prompt (`/v1`, §12): `{messages, temperature}` sent as it is instead of
    # the dialog's context, also when the answer is queued again
    prompt: dict[str, object] | None = Field(default=None, sa_column=Column(JSON))
    # what a `/v1/responses` call asked (`openai_api.responses`); None for other messages
    response: dict[str, object] | None = Field(default=None, sa_column=Column(JSON))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    completed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class UsageRecord(SQLModel, table=True):
    """The tokens of one stored answer (docs/DESIGN.md §11): kept when its message is deleted,
    so what a user spent this month does not shrink when they tidy up."""

    __tablename__ = "usage_record"
    __table_args__ = (
        Index("ix_usage_record_user_day", "user_id", "day"),
        Index("ix_usage_record_day", "day"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    message_id: uuid.UUID = Field(sa_column=Column(Uuid, nullable=False))
    day: date = Field(sa_column=Column(Date, nullable=False))  # UTC
    user_id: uuid.UUID = Field(sa_column=Column(Uuid, nullable=False))
    key_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid))
    workspace_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid))
    model: str = Field(max_length=100)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated: bool = False  # counted by Parley because the provider gave no counts


class Budget(SQLModel, table=True):
    """A user's monthly token budget set by staff; users without a row have the default from
    the settings (`PARLEY_DEFAULT_MONTHLY_TOKENS`)."""

    __tablename__ = "budget"

    user_id: uuid.UUID = Field(sa_column=Column(Uuid, primary_key=True))
    monthly_tokens: int = Field(sa_column=Column(BigInteger, nullable=False))
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class IdempotencyKey(SQLModel, table=True):
    """A client's `Idempotency-Key` for posting a message: a retried POST returns the same one."""

    __tablename__ = "idempotency_key"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(sa_column=Column(Uuid, nullable=False))
    key: str = Field(sa_column=Column(String(200), nullable=False))
    message_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("message.id", ondelete="CASCADE"), nullable=False)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class WebhookEndpoint(SQLModel, table=True):
    """A user's receiver of answer events (Standard Webhooks)."""

    __tablename__ = "webhook_endpoint"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(sa_column=Column(Uuid, nullable=False, index=True))
    url: str = Field(sa_column=Column(String(2000), nullable=False))
    name: str = Field(default="", sa_column=Column(String(200), nullable=False, server_default=""))
    events: list[str] = Field(sa_column=Column(JSON, nullable=False))
    # the signing key must be readable to sign; it is shown to the user only once
    secret: str = Field(sa_column=Column(String(100), nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    disabled_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    disabled_reason: str | None = Field(default=None, max_length=200)
    # after a rotation the old secret signs beside the new one until it expires
    previous_secret: str | None = Field(default=None, sa_column=Column(String(100)))
    previous_secret_expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    # deliveries that used up every attempt since the last success (webhooks/endpoint_health.py)
    failed_deliveries: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    failing_since: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    updated_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class WebhookDelivery(SQLModel, table=True):
    """One event for one endpoint; its id is the `webhook-id` sent on every attempt."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        UniqueConstraint("endpoint_id", "event_key"),
    )

    id: str = Field(primary_key=True, max_length=40)
    endpoint_id: uuid.UUID = Field(
        sa_column=Column(
            Uuid, ForeignKey("webhook_endpoint.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    event_type: str = Field(max_length=50)
    # what makes the event unique for this endpoint (type, message id, generation; or a test id)
    event_key: str = Field(max_length=100)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="pending", max_length=16)  # pending | succeeded | failed
    attempts: int = 0
    next_attempt_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    locked_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class WebhookAttempt(SQLModel, table=True):
    __tablename__ = "webhook_attempt"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    delivery_id: str = Field(
        sa_column=Column(
            String(40),
            ForeignKey("webhook_delivery.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    attempted_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=500)
    duration_ms: int = 0
    response_body: str = Field(default="", sa_column=Column(Text, nullable=False))
