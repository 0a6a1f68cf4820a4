"""The events Parley's services send each other: each type's name and the shape of its `data`.

Producers build `data` with the builders here and store it with `kit.outbox.add_event` (in the
transaction of the change); consumers read the same names (`kit.events.SUBSCRIPTIONS` says who
receives what). A field added here is one every consumer may rely on, so add, never rename:
a consumer may still be on the previous release while an event waits in its queue.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, TypedDict

# auth → mailer (and chat, for a deleted account)
USER_REGISTERED = "auth.user_registered"
EMAIL_CONFIRMATION_REQUESTED = "auth.email_confirmation_requested"
EMAIL_CONFIRMED = "auth.email_confirmed"
PASSWORD_RESET_REQUESTED = "auth.password_reset_requested"
PASSWORD_CHANGED = "auth.password_changed"
USER_DELETED = "auth.user_deleted"
# chat → webhooks (its own outbox) and the mailer
MESSAGE_COMPLETED = "chat.message_completed"
MESSAGE_FAILED = "chat.message_failed"
WEBHOOK_FAILING = "chat.webhook_failing"
WEBHOOK_DISABLED = "chat.webhook_disabled"
WORKSPACE_INVITATION = "chat.workspace_invitation"


class Identity(TypedDict):
    """Who an account event is about: enough for the mailer to greet and address them."""

    user_id: str
    email: str
    username: str


class LinkMail(Identity):
    """A mail carrying a one-time link (confirmation, password reset)."""

    link: str
    expires_at: str


class UserDeleted(TypedDict):
    user_id: str


class MessageEnded(TypedDict):
    """A message's answer ended (`chat.message_completed|failed`)."""

    message_id: str
    dialog_id: str
    user_id: str
    message: dict[str, Any]  # the message as the API shows it


class WebhookHealth(TypedDict, total=False):
    """An endpoint failing or disabled: the mailer looks its owner's address up by `user_id`."""

    user_id: str
    webhook_id: str
    url: str
    failed_deliveries: int
    reason: str  # `chat.webhook_disabled` only


class Invitation(TypedDict):
    """An invitation to a workspace, mailed to an address that may have no account yet."""

    email: str
    link: str
    expires_at: str
    workspace: str  # its name
    inviter: str  # the inviter's username
    role: str


def invitation(
    email: str, link: str, expires_at: datetime, workspace: str, inviter: str, role: str
) -> Invitation:
    return {
        "email": email,
        "link": link,
        "expires_at": expires_at.isoformat(),
        "workspace": workspace,
        "inviter": inviter,
        "role": role,
    }


def identity(user_id: uuid.UUID, email: str, username: str) -> Identity:
    return {"user_id": str(user_id), "email": email, "username": username}


def link_mail(who: Identity, link: str, expires_at: datetime) -> LinkMail:
    return {**who, "link": link, "expires_at": expires_at.isoformat()}


def user_deleted(user_id: uuid.UUID) -> UserDeleted:
    return {"user_id": str(user_id)}


def message_ended(
    message_id: uuid.UUID, dialog_id: uuid.UUID, user_id: uuid.UUID, public: dict[str, Any]
) -> MessageEnded:
    return {
        "message_id": str(message_id),
        "dialog_id": str(dialog_id),
        "user_id": str(user_id),
        "message": public,
    }


def message_ended_type(status: str) -> str:
    """`chat.message_completed` or `chat.message_failed` for a message's final status."""
    return MESSAGE_COMPLETED if status == "completed" else MESSAGE_FAILED


def webhook_health(
    user_id: uuid.UUID,
    webhook_id: uuid.UUID,
    url: str,
    failed_deliveries: int,
    reason: str | None = None,
) -> WebhookHealth:
    data: WebhookHealth = {
        "user_id": str(user_id),
        "webhook_id": str(webhook_id),
        "url": url,
        "failed_deliveries": failed_deliveries,
    }
    if reason is not None:
        data["reason"] = reason
    return data
