"""OpenAI's responses (docs/DESIGN.md §12) on Parley's messages: a response is a message whose
`response` keeps what the call asked, answered by the same queue and workers.

A response lives in the dialog of its conversation (`conversation=`, shown in the web UI), in
the hidden dialog of the response it follows (`previous_response_id`), or in a new hidden
dialog. Its prompt is built when it is created and kept on the message (`Message.prompt`), so
an answer queued again sends the same.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

from redis.exceptions import RedisError
from sqlmodel.ext.asyncio.session import AsyncSession

from chat_service.dialogs.service import title_from
from chat_service.messages import context, generation, posting
from chat_service.messages import repository as repo
from chat_service.messages.answering.stream import live_statuses
from chat_service.messages.schemas import MessagePublic
from chat_service.models import Dialog, Message, MessageStatus
from chat_service.openai_api import ids
from chat_service.openai_api.answerers import Answerer, offered
from chat_service.openai_api.schemas import InputMessage, ResponseCreate
from chat_service.runtime import Runtime
from kit.errors import FieldErrors, NotFound
from kit.jwt import AccessClaims

MAX_CHAIN = 200  # responses followed back through `previous_response_id`
NEW_DIALOG_NAME = "New chat"  # the web UI's name for a dialog before its first message


class ResponseNotFound(NotFound):
    code = "response_not_found"

    def __init__(self, response_id: str) -> None:
        super().__init__(f"No response with id '{response_id}' found.")


async def owned(session: AsyncSession, caller: AccessClaims, response_id: str) -> Message:
    """The caller's response `response_id` (404 for another's, or a message that is not one)."""
    message_id = ids.parsed(ids.RESPONSE, response_id)
    message = None if message_id is None else await session.get(Message, message_id)
    if message is None or message.user_id != caller.user_id or message.response is None:
        raise ResponseNotFound(response_id)
    return message


async def _conversation(session: AsyncSession, caller: AccessClaims, conversation: str) -> Dialog:
    dialog_id = ids.parsed(ids.CONVERSATION, conversation)
    dialog = None if dialog_id is None else await session.get(Dialog, dialog_id)
    if dialog is None or dialog.user_id != caller.user_id or dialog.hidden:
        raise FieldErrors(
            {"conversation": [f"No conversation with id '{conversation}' found."]},
            code="conversation_not_found",
        )
    return dialog


async def _previous(session: AsyncSession, caller: AccessClaims, response_id: str) -> Message:
    message_id = ids.parsed(ids.RESPONSE, response_id)
    message = None if message_id is None else await session.get(Message, message_id)
    if message is None or message.user_id != caller.user_id or message.response is None:
        raise FieldErrors(
            {"previous_response_id": [f"No response with id '{response_id}' found."]},
            code="previous_response_not_found",
        )
    if not MessageStatus(message.status).terminal:
        raise FieldErrors(
            {"previous_response_id": ["That response has not finished yet."]},
            code="previous_response_in_progress",
        )
    return message


async def _chain(session: AsyncSession, last: Message, budget: int) -> list[dict[str, str]]:
    """What the responses up to `last` said, oldest first, as far back as fits `budget`: each
    one's input and answer (their `instructions` are not carried over, as OpenAI does)."""
    links: list[list[dict[str, str]]] = []
    used = 0
    message: Message | None = last
    while message is not None and message.response is not None and len(links) < MAX_CHAIN:
        asked = cast(list[dict[str, str]], message.response["input"])
        said = [*asked, {"role": "assistant", "content": message.answer_text}]
        cost = sum(context.estimate_tokens(m["content"]) for m in said)
        if used + cost > budget:
            break
        used += cost
        links.append(said)
        earlier = message.response.get("previous_response_id")
        earlier_id = ids.parsed(ids.RESPONSE, str(earlier)) if earlier else None
        message = await session.get(Message, earlier_id) if earlier_id else None
    return [m for link in reversed(links) for m in link]


async def create(
    runtime: Runtime, session: AsyncSession, caller: AccessClaims, data: ResponseCreate
) -> Message:
    """Post a response: checks, prompt, the job queued, the message stored (not committed)."""
    conversation_id = data.conversation_id()
    if conversation_id is not None and data.previous_response_id is not None:
        raise FieldErrors(
            {"conversation": ["Use either `conversation` or `previous_response_id`, not both."]}
        )
    if data.model is None:
        model = await runtime.catalog.default()
        if model is None:
            raise FieldErrors({"model": ["No model is configured."]}, code="model_not_found")
        answerer = Answerer(model)
    else:
        answerer = await offered(runtime, session, caller, data.model)
    items = data.input
    new = [item.for_provider() for item in items]
    budget = answerer.model.context_tokens - runtime.settings.answer_reserve_tokens
    # the agent's instructions first, as for a message (§9), then the call's own
    instructions = [m["content"] for m in answerer.system()] + [data.instructions or ""]
    dialog: Dialog | None = None
    if conversation_id is not None:
        dialog = await _conversation(session, caller, conversation_id)
        history = await repo.recent_exchanges(session, dialog.id, runtime.settings.context_messages)
        handle = answerer.agent.handle if answerer.agent else "assistant"
        prompt = context.build([*instructions, dialog.instructions], history, new, budget, handle)
    else:
        earlier: list[dict[str, str]] = []
        if data.previous_response_id is not None:
            previous = await _previous(session, caller, data.previous_response_id)
            dialog = await session.get(Dialog, previous.dialog_id)
            earlier = await _chain(session, previous, budget)
        prompt = context.build(instructions, [], [*earlier, *new], budget, "assistant")
    text = _asked(items)
    if dialog is not None and not dialog.hidden and dialog.name == NEW_DIALOG_NAME and text:
        dialog.name = title_from(text)
    return await posting.post_completion(
        runtime,
        session,
        caller,
        answerer.model,
        prompt,
        text,
        answerer.temperature(data.temperature),
        answerer.ref(runtime),
        dialog=dialog,
        response={
            "model": data.model or answerer.model.id,
            "input": new,
            "instructions": data.instructions,
            "metadata": data.metadata or {},
            "previous_response_id": data.previous_response_id,
            "conversation": conversation_id,
            "background": data.background,
            "temperature": data.temperature,
        },
    )


def _asked(items: list[InputMessage]) -> str:
    """What the message shows as asked: the last user input."""
    return next((item.text() for item in reversed(items) if item.role == "user"), "")


async def delete(runtime: Runtime, session: AsyncSession, message: Message) -> None:
    """Remove a response (stopping its answer first); a hidden dialog it leaves empty goes too."""
    if not MessageStatus(message.status).terminal:
        await generation.cancel(runtime, session, message)
    dialog = await session.get(Dialog, message.dialog_id)
    await session.delete(message)
    await session.flush()
    if dialog is not None and dialog.hidden and not await repo.page(session, dialog.id, None, 1):
        await session.delete(dialog)


async def current(runtime: Runtime, message_id: uuid.UUID) -> Message | None:
    """The message as stored now, read in a session of its own (streams outlive requests)."""
    async with runtime.db.read_session() as session:
        return await session.get(Message, message_id)


async def live_status(runtime: Runtime, message: Message) -> str:
    """`queued` turns `in_progress` while a worker holds the answer (`live_statuses`)."""
    try:
        [shown] = await live_statuses(runtime.redis, [MessagePublic.of(message)])
    except RedisError:
        return status_of(message.status)
    return status_of(shown.status)


def status_of(message_status: str) -> str:
    return {
        MessageStatus.queued: "queued",
        MessageStatus.generating: "in_progress",
        MessageStatus.completed: "completed",
        MessageStatus.failed: "failed",
        MessageStatus.cancelled: "cancelled",
    }[MessageStatus(message_status)]


def _seconds(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())


def output_item(message: Message, text: str, status: str) -> dict[str, Any]:
    return {
        "type": "message",
        "id": ids.shown(ids.OUTPUT_ITEM, message.id),
        "status": status,
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}],
    }


def response_object(message: Message, status: str) -> dict[str, Any]:
    """The response as OpenAI shows it, from its message in `status` (OpenAI's name). A
    response that has not ended shows no output: its text streams (`response_events`)."""
    asked = message.response or {}
    ended = status in ("completed", "failed", "cancelled", "incomplete")
    output: list[dict[str, Any]] = []
    if ended and (message.answer_text or status == "completed"):
        item_status = "completed" if status == "completed" else "incomplete"
        output.append(output_item(message, message.answer_text, item_status))
    error = None
    if status == "failed":
        failure = message.error or {}
        error = {
            "code": "server_error",
            "message": str(failure.get("message") or "The answer failed; try again."),
        }
    conversation = asked.get("conversation")
    return {
        "id": ids.shown(ids.RESPONSE, message.id),
        "object": "response",
        "created_at": _seconds(message.created_at),
        "status": status,
        "background": bool(asked.get("background")),
        "completed_at": _seconds(message.completed_at) if ended else None,
        "error": error,
        "incomplete_details": None,
        "instructions": asked.get("instructions"),
        "metadata": asked.get("metadata") or {},
        "model": asked.get("model") or message.model,
        "output": output,
        "parallel_tool_calls": False,
        "previous_response_id": asked.get("previous_response_id"),
        "conversation": {"id": conversation} if conversation else None,
        "temperature": asked.get("temperature"),
        "tool_choice": "auto",
        "tools": [],
        "top_p": None,
        "store": True,
        "text": {"format": {"type": "text"}},
        "truncation": "disabled",
        "usage": _usage(message) if ended else None,
        "user": None,
    }


def _usage(message: Message) -> dict[str, Any] | None:
    if not message.usage:
        return None
    prompt = int(message.usage.get("prompt_tokens", 0))
    completion = int(message.usage.get("completion_tokens", 0))
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt + completion,
    }
