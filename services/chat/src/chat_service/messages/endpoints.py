from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, status

from chat_service.dependencies import (
    Caller,
    Internal,
    ReadableDialog,
    ReadableMessage,
    RuntimeDep,
    SessionDep,
)
from chat_service.messages import generation, posting
from chat_service.messages import repository as repo
from chat_service.messages.answering.stream import live_statuses
from chat_service.messages.errors import MessageNotFound
from chat_service.messages.schemas import MessageCreate, MessagePage, MessagePublic
from chat_service.models import Dialog
from kit.answer_jobs import AnswerIn
from kit.dependencies import costly_write
from kit.pagination import Position, decode_cursor, split
from kit.schemas import NO_NUL, QueryText

router = APIRouter(tags=["messages"])
internal = APIRouter(prefix="/internal", dependencies=[Internal], include_in_schema=False)


@router.get("/api/dialogs/{dialog_id}/messages", response_model=MessagePage)
async def list_messages(
    dialog: ReadableDialog,
    runtime: RuntimeDep,
    session: SessionDep,
    before: Annotated[QueryText | None, Query(json_schema_extra=NO_NUL, max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> MessagePage:
    """A page of a dialog's messages, oldest to newest; `next_cursor` pages further back."""
    rows = await repo.page(session, dialog.id, decode_cursor(before, "before"), limit)
    page, next_cursor = split(rows, limit, lambda m: Position(m.created_at, m.id))
    data = [MessagePublic.of(m) for m in reversed(page)]
    return MessagePage(data=await live_statuses(runtime.redis, data), next_cursor=next_cursor)


@router.post(
    "/api/dialogs/{dialog_id}/messages",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=MessagePublic,
    responses={403: {"description": "Email not confirmed and quota used"}, 404: {}, 503: {}},
    dependencies=[costly_write("messages")],
)
async def post_message(
    dialog: ReadableDialog,
    data: MessageCreate,
    caller: Caller,
    runtime: RuntimeDep,
    session: SessionDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> MessagePublic:
    """Send a message; its answer is generated in the background (poll, stream or webhook).

    A retried request with the same `Idempotency-Key` returns the first message.
    """
    model = await runtime.catalog.check(data.model)
    message = await posting.post_message(
        runtime,
        session,
        caller,
        dialog,
        data.message_text,
        model.id if model else None,
        idempotency_key,
        data.agent_id,
    )
    return MessagePublic.of(message)


@router.get("/api/messages/{message_id}", response_model=MessagePublic, responses={404: {}})
async def get_message(message: ReadableMessage, runtime: RuntimeDep) -> MessagePublic:
    """The latest state of a message (for polling)."""
    return (await live_statuses(runtime.redis, [MessagePublic.of(message)]))[0]


@router.post(
    "/api/messages/{message_id}/cancel",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=MessagePublic,
    responses={404: {}, 409: {}},
)
async def cancel(
    message: ReadableMessage, runtime: RuntimeDep, session: SessionDep
) -> MessagePublic:
    """Stop generating; the partial answer is kept and the status becomes `cancelled`."""
    return MessagePublic.of(await generation.cancel(runtime, session, message))


@router.post(
    "/api/messages/{message_id}/regenerate",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=MessagePublic,
    responses={404: {}, 409: {}, 503: {}},
    dependencies=[costly_write("regenerations")],
)
async def regenerate(
    message: ReadableMessage, runtime: RuntimeDep, session: SessionDep
) -> MessagePublic:
    """Generate a new answer that replaces the old one."""
    dialog = await session.get(Dialog, message.dialog_id)
    if dialog is None:  # deleted meanwhile
        raise MessageNotFound()
    return MessagePublic.of(await generation.regenerate(runtime, session, dialog, message))


@internal.post("/messages/{message_id}/answer", response_model=MessagePublic)
async def answer(
    message_id: uuid.UUID, data: AnswerIn, runtime: RuntimeDep, session: SessionDep
) -> MessagePublic:
    return MessagePublic.of(await generation.record_answer(runtime, session, message_id, data))
