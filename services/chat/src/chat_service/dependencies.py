"""Request dependencies shared by chat's domains: runtime, DB session, the caller, and the
caller's own dialog, message or webhook from the path.

The `Owned*` dependencies are the one way a route gets a row by the id in its path: a row that
does not exist and a row of someone else are the same 404, so ids reveal nothing.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request

from chat_service.dialogs.service import DialogNotFound
from chat_service.messages.errors import MessageNotFound
from chat_service.models import Dialog, Message, WebhookEndpoint
from chat_service.runtime import Runtime
from chat_service.webhooks.service import WebhookNotFound
from kit.dependencies import ClaimsDep as ClaimsDep
from kit.dependencies import Internal as Internal
from kit.dependencies import SessionDep as SessionDep


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


Caller = ClaimsDep


async def owned_dialog(dialog_id: uuid.UUID, caller: Caller, session: SessionDep) -> Dialog:
    dialog = await session.get(Dialog, dialog_id)
    if dialog is None or dialog.user_id != caller.user_id:
        raise DialogNotFound()
    return dialog


async def owned_message(message_id: uuid.UUID, caller: Caller, session: SessionDep) -> Message:
    message = await session.get(Message, message_id)
    if message is None or message.user_id != caller.user_id:
        raise MessageNotFound()
    return message


async def owned_webhook(
    webhook_id: uuid.UUID, caller: Caller, session: SessionDep
) -> WebhookEndpoint:
    endpoint = await session.get(WebhookEndpoint, webhook_id)
    if endpoint is None or endpoint.user_id != caller.user_id:
        raise WebhookNotFound()
    return endpoint


OwnedDialog = Annotated[Dialog, Depends(owned_dialog)]
OwnedMessage = Annotated[Message, Depends(owned_message)]
OwnedWebhook = Annotated[WebhookEndpoint, Depends(owned_webhook)]
