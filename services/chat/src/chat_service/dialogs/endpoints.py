from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status

from chat_service.dependencies import (
    Caller,
    ChangeableDialog,
    ReadableDialog,
    RuntimeDep,
    SessionDep,
)
from chat_service.dialogs import live, service
from chat_service.dialogs import repository as repo
from chat_service.dialogs.schemas import (
    DialogCreate,
    DialogCreated,
    DialogPage,
    DialogPublic,
    DialogUpdate,
)
from chat_service.messages.schemas import MessagePublic
from chat_service.workspaces import service as workspaces
from kit.db import utcnow
from kit.dependencies import costly_write, count_write
from kit.pagination import Position, decode_cursor, split
from kit.schemas import NO_NUL, QueryText

router = APIRouter(prefix="/api/dialogs", tags=["dialogs"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such dialog (or not yours)."}
}


@router.get("", response_model=DialogPage)
async def list_dialogs(
    caller: Caller,
    session: SessionDep,
    cursor: Annotated[QueryText | None, Query(json_schema_extra=NO_NUL, max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 30,
    q: Annotated[QueryText | None, Query(json_schema_extra=NO_NUL, max_length=200)] = None,
    workspace_id: uuid.UUID | None = None,
) -> DialogPage:
    """The dialogs of a workspace the caller may read (default: their personal one), most
    recently active first."""
    if workspace_id is not None:
        await workspaces.membership(session, caller, workspace_id)  # 404 for a non-member
    place = workspace_id or workspaces.personal_id(caller.user_id)
    rows = await repo.page(session, caller.user_id, place, decode_cursor(cursor), limit, q)
    page, next_cursor = split(rows, limit, lambda d: Position(d.updated_at, d.id))
    return DialogPage(data=[DialogPublic.of(d) for d in page], next_cursor=next_cursor)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=DialogCreated,
    dependencies=[costly_write("dialogs")],
)
async def create_dialog(
    data: DialogCreate,
    caller: Caller,
    runtime: RuntimeDep,
    session: SessionDep,
    request: Request,
    response: Response,
) -> DialogCreated:
    """Start a dialog, optionally with its first message (queued for an answer)."""
    if data.message_text is not None:
        await count_write(request, response, "messages", caller)  # a message like any other
    dialog, message = await service.create_dialog(runtime, session, caller, data)
    return DialogCreated(
        **DialogPublic.of(dialog).model_dump(),
        message=MessagePublic.of(message) if message else None,
    )


@router.get("/{dialog_id}", response_model=DialogPublic, responses=NOT_FOUND)
async def get_dialog(dialog: ReadableDialog) -> DialogPublic:
    """One dialog."""
    return DialogPublic.of(dialog)


@router.patch("/{dialog_id}", response_model=DialogPublic, responses=NOT_FOUND)
async def update_dialog(
    dialog: ChangeableDialog,
    data: DialogUpdate,
    caller: Caller,
    runtime: RuntimeDep,
    session: SessionDep,
) -> DialogPublic:
    """Rename a dialog, change its model, its default agent, its instructions, or share it
    with its workspace (`visibility`)."""
    # teammates who had it open hear of the change, also when it is made private
    shared = dialog.visibility == live.SHARED or data.visibility == live.SHARED
    if data.name is not None:
        dialog.name = data.name
    if (model := await runtime.catalog.check(data.model)) is not None:
        dialog.model = model.id
    if data.agent_id is not None:
        dialog.agent_id = await service.default_agent(runtime, session, caller, data.agent_id)
    if data.instructions is not None:
        dialog.instructions = data.instructions
    if data.visibility is not None:
        dialog.visibility = data.visibility
    dialog.updated_at = utcnow()
    session.add(dialog)
    shown = DialogPublic.of(dialog)
    news = {"dialog": shown.model_dump(mode="json")}
    live.publish(runtime, session, live.DialogEvent(dialog.id, "dialog.updated", news, shared))
    return shown


@router.delete("/{dialog_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def delete_dialog(
    dialog: ChangeableDialog, runtime: RuntimeDep, session: SessionDep
) -> Response:
    """Delete a dialog with all its messages."""
    await session.delete(dialog)
    news = {"id": str(dialog.id)}
    live.publish(runtime, session, live.DialogEvent(dialog.id, "dialog.deleted", news, False))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
