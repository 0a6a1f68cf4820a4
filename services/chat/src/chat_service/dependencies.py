"""Request dependencies shared by chat's domains: runtime, DB session, the caller, and the
dialog, message or webhook from the path.

These dependencies are the one way a route gets a row by the id in its path: a row that does
not exist and a row the caller may not see are the same 404, so ids reveal nothing.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request

from chat_service.dialogs import access
from chat_service.dialogs.service import DialogNotFound
from chat_service.messages.errors import MessageNotFound
from chat_service.models import Dialog, Message, WebhookEndpoint
from chat_service.runtime import Runtime
from chat_service.webhooks.service import WebhookNotFound
from kit.dependencies import ClaimsDep as ClaimsDep
from kit.dependencies import Internal as Internal
from kit.dependencies import SessionDep as SessionDep
from kit.errors import Forbidden


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


Caller = ClaimsDep


async def readable_dialog(dialog_id: uuid.UUID, caller: Caller, session: SessionDep) -> Dialog:
    """A dialog the caller may read and post in (`dialogs.access`)."""
    dialog = await session.get(Dialog, dialog_id)
    if dialog is None or not await access.may_read(
        session, caller, dialog.user_id, dialog.workspace_id, dialog.visibility
    ):
        raise DialogNotFound()
    return dialog


async def changeable_dialog(dialog_id: uuid.UUID, caller: Caller, session: SessionDep) -> Dialog:
    """A dialog the caller may rename, share or delete; 404 when they may not even read it."""
    dialog = await readable_dialog(dialog_id, caller, session)
    if not await access.may_change(session, caller, dialog):
        raise Forbidden(
            "Only its maker and the workspace's owners and admins may change this dialog.",
            code="dialog_not_yours",
        )
    return dialog


async def readable_message(message_id: uuid.UUID, caller: Caller, session: SessionDep) -> Message:
    """A message of a dialog the caller may read."""
    message = await session.get(Message, message_id)
    dialog = await session.get(Dialog, message.dialog_id) if message is not None else None
    if dialog is None or not await access.may_read(
        session, caller, dialog.user_id, dialog.workspace_id, dialog.visibility
    ):
        raise MessageNotFound()
    return message  # type: ignore[return-value]  # found with its dialog


async def owned_webhook(
    webhook_id: uuid.UUID, caller: Caller, session: SessionDep
) -> WebhookEndpoint:
    endpoint = await session.get(WebhookEndpoint, webhook_id)
    if endpoint is None or endpoint.user_id != caller.user_id:
        raise WebhookNotFound()
    return endpoint


ReadableDialog = Annotated[Dialog, Depends(readable_dialog)]
ChangeableDialog = Annotated[Dialog, Depends(changeable_dialog)]
ReadableMessage = Annotated[Message, Depends(readable_message)]
OwnedWebhook = Annotated[WebhookEndpoint, Depends(owned_webhook)]
