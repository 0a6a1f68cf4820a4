"""`/v1/conversations` and their items (docs/DESIGN.md §12): a conversation is a dialog, so an
answer made with `conversation=` shows in the web UI, and a dialog made there can be continued
from a program. Each message is two items: what the user asked, then the answer."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from sqlmodel.ext.asyncio.session import AsyncSession

from chat_service.dependencies import Caller, RuntimeDep, SessionDep
from chat_service.messages import repository as repo
from chat_service.models import Dialog, Message, MessageStatus
from chat_service.openai_api import ids
from chat_service.openai_api.ids import openai_list
from chat_service.openai_api.responses import NEW_DIALOG_NAME, output_item, status_of
from chat_service.openai_api.schemas import ConversationCreate, ConversationUpdate, InputMessage
from chat_service.workspaces.ids import personal_id
from kit.db import utcnow
from kit.dependencies import costly_write
from kit.errors import FieldErrors, NotFound
from kit.jwt import AccessClaims

router = APIRouter(prefix="/v1/conversations", tags=["OpenAI-compatible"])


class ConversationNotFound(NotFound):
    code = "conversation_not_found"

    def __init__(self, conversation_id: str) -> None:
        super().__init__(f"No conversation with id '{conversation_id}' found.")


async def _owned(session: AsyncSession, caller: AccessClaims, conversation_id: str) -> Dialog:
    dialog_id = ids.parsed(ids.CONVERSATION, conversation_id)
    dialog = None if dialog_id is None else await session.get(Dialog, dialog_id)
    if dialog is None or dialog.user_id != caller.user_id or dialog.hidden:
        raise ConversationNotFound(conversation_id)
    return dialog


def _object(dialog: Dialog) -> dict[str, Any]:
    return {
        "id": ids.shown(ids.CONVERSATION, dialog.id),
        "object": "conversation",
        "created_at": int(dialog.created_at.timestamp()),
        "metadata": dialog.conversation_metadata or {},
    }


def _exchanges(items: list[InputMessage]) -> tuple[list[str], list[tuple[str, str]]]:
    """A new conversation's items as instructions and (asked, answered) exchanges: Parley
    stores a question with its answer, so each user item must be followed by an answer."""
    instructions: list[str] = []
    exchanges: list[tuple[str, str]] = []
    asked: str | None = None
    for item in items:
        if item.role in ("system", "developer"):
            instructions.append(item.text())
        elif item.role == "user" and asked is None:
            asked = item.text()
        elif item.role == "assistant" and asked is not None:
            exchanges.append((asked, item.text()))
            asked = None
        else:
            break
    else:
        if asked is None:
            return instructions, exchanges
    raise FieldErrors(
        {"items": ["Give each user item its assistant item after it; ask with a response."]},
        code="unpaired_items",
    )


@router.post("", dependencies=[costly_write("dialogs")])
async def create_conversation(
    data: ConversationCreate, caller: Caller, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """A new dialog; `metadata.title` names it in the web UI."""
    instructions, exchanges = _exchanges(data.items or [])
    model = await runtime.catalog.default()
    metadata = data.metadata or {}
    dialog = Dialog(
        user_id=caller.user_id,
        workspace_id=personal_id(caller.user_id),
        name=metadata.get("title") or NEW_DIALOG_NAME,
        model=model.id if model else runtime.settings.default_model,
        instructions="\n\n".join(instructions),
        conversation_metadata=metadata,
    )
    session.add(dialog)
    await session.flush()
    for asked, answered in exchanges:
        session.add(
            Message(
                dialog_id=dialog.id,
                user_id=caller.user_id,
                author_name=caller.username,
                message_text=asked,
                answer_text=answered,
                status=MessageStatus.completed,
                model=dialog.model,
                completed_at=utcnow(),
            )
        )
    return _object(dialog)


@router.get("/{conversation_id}")
async def retrieve_conversation(
    conversation_id: str, caller: Caller, session: SessionDep
) -> dict[str, Any]:
    return _object(await _owned(session, caller, conversation_id))


@router.post("/{conversation_id}")
async def update_conversation(
    conversation_id: str, data: ConversationUpdate, caller: Caller, session: SessionDep
) -> dict[str, Any]:
    """Replace the metadata (a `title` renames the dialog)."""
    dialog = await _owned(session, caller, conversation_id)
    dialog.conversation_metadata = data.metadata
    if data.metadata.get("title"):
        dialog.name = data.metadata["title"]
    session.add(dialog)
    return _object(dialog)


@router.delete("/{conversation_id}")
async def delete_conversation(
    conversation_id: str, caller: Caller, session: SessionDep
) -> dict[str, Any]:
    """Delete the dialog with its messages, as deleting it in the web UI does."""
    await session.delete(await _owned(session, caller, conversation_id))
    return {"id": conversation_id, "object": "conversation.deleted", "deleted": True}


def _items(message: Message) -> list[dict[str, Any]]:
    """A message as its two items, the question first (an answer not ended yet is left out)."""
    asked = {
        "type": "message",
        "id": ids.shown(ids.INPUT_ITEM, message.id),
        "status": "completed",
        "role": "user",
        "content": [{"type": "input_text", "text": message.message_text}],
    }
    if not MessageStatus(message.status).terminal:
        return [asked]
    done = "completed" if status_of(message.status) == "completed" else "incomplete"
    return [asked, output_item(message, message.answer_text, done)]


async def _start(session: AsyncSession, dialog: Dialog, after: str | None) -> Message | None:
    """The message whose item `after` names (the page starts just after that item)."""
    if after is None:
        return None
    message_id = ids.parsed(ids.INPUT_ITEM, after) or ids.parsed(ids.OUTPUT_ITEM, after)
    message = None if message_id is None else await session.get(Message, message_id)
    if message is None or message.dialog_id != dialog.id:
        raise FieldErrors({"after": [f"No item with id '{after}' in this conversation."]})
    return message


@router.get("/{conversation_id}/items")
async def list_items(
    conversation_id: str,
    caller: Caller,
    session: SessionDep,
    after: Annotated[str, Query(max_length=100)] | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    order: Literal["asc", "desc"] = "desc",
) -> dict[str, Any]:
    """The conversation's items, newest first unless `order=asc`; `after` pages on."""
    dialog = await _owned(session, caller, conversation_id)
    newest = order == "desc"
    start = await _start(session, dialog, after)
    # each message is one or two items: `limit + 2` messages hold `limit + 1` items after
    # the one `after` names
    items: list[dict[str, Any]] = []
    for message in await repo.in_order(session, dialog.id, start, newest, limit + 2):
        pair = _items(message)
        items.extend(reversed(pair) if newest else pair)
    shown = [item["id"] for item in items]
    if after in shown:
        items = items[shown.index(after) + 1 :]
    return openai_list(items[:limit], len(items) > limit)
