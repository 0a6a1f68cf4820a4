"""Messages: posting (and queueing the answer), the context sent to the model, callbacks."""

from __future__ import annotations

import uuid

from sqlmodel.ext.asyncio.session import AsyncSession

from chat_service.messages import repository as repo
from chat_service.messages.schemas import AnswerIn, JobPayload
from chat_service.models import Dialog, Message, MessageStatus
from chat_service.runtime import Runtime
from kit.db import utcnow
from kit.errors import Conflict, Forbidden, NotFound, ServiceUnavailable
from kit.jwt import AccessClaims


class MessageNotFound(NotFound):
    code = "message_not_found"

    def __init__(self) -> None:
        super().__init__("No such message.")


class EmailNotConfirmed(Forbidden):
    code = "email_not_confirmed"


class StaleGeneration(Conflict):
    code = "stale_generation"


async def build_context(
    runtime: Runtime, session: AsyncSession, dialog: Dialog, text: str
) -> list[dict[str, str]]:
    """System prompt, the last exchanges (oldest first), then the new message."""
    context = [{"role": "system", "content": dialog.system_prompt}]
    for exchange in await repo.recent_exchanges(session, dialog.id, runtime.settings.context_messages):
        context.append({"role": "user", "content": exchange.message_text})
        context.append({"role": "assistant", "content": exchange.answer_text})
    context.append({"role": "user", "content": text})
    return context


async def post_message(
    runtime: Runtime,
    session: AsyncSession,
    caller: AccessClaims,
    dialog: Dialog,
    text: str,
    model: str | None,
) -> Message:
    quota = runtime.settings.unconfirmed_message_quota
    if not caller.email_confirmed and await repo.count_by_user(session, caller.user_id) >= quota:
        raise EmailNotConfirmed(
            f"Confirm your email address to send more than {quota} messages."
        )
    context = await build_context(runtime, session, dialog, text)
    message = Message(
        dialog_id=dialog.id, user_id=caller.user_id, message_text=text, model=model or dialog.model
    )
    session.add(message)
    dialog.updated_at = message.created_at
    session.add(dialog)
    await session.flush()
    job = JobPayload(
        message_id=message.id, generation=message.generation, model=message.model, messages=context
    )
    # Queued before the commit: if the broker refuses, the request fails and nothing is
    # stored. The worker tolerates the short moment before the commit lands.
    try:
        await runtime.jobs.enqueue_answer(job.model_dump(mode="json"))
    except Exception as exc:
        raise ServiceUnavailable(
            "The answer queue is unavailable; try again shortly.", code="queue_unavailable"
        ) from exc
    return message


async def _current(session: AsyncSession, message_id: uuid.UUID, generation: int) -> Message:
    message = await session.get(Message, message_id)
    if message is None:
        raise MessageNotFound()
    if generation != message.generation:
        raise StaleGeneration("A newer generation of this answer exists.")
    return message


async def start_generation(session: AsyncSession, message_id: uuid.UUID, generation: int) -> Message:
    """The worker begins an answer; refused (409) once the message has ended."""
    message = await _current(session, message_id, generation)
    if MessageStatus(message.status).terminal:
        raise Conflict("This message has already ended.", code="message_ended")
    message.status = MessageStatus.generating
    session.add(message)
    return message


async def record_answer(session: AsyncSession, message_id: uuid.UUID, answer: AnswerIn) -> Message:
    """Store the worker's final answer once; a duplicate or late callback changes nothing."""
    message = await _current(session, message_id, answer.generation)
    if MessageStatus(message.status).terminal:
        return message
    message.status = answer.status
    message.answer_text = answer.answer_text
    message.error = answer.error.model_dump() if answer.error else None
    message.usage = answer.usage
    message.completed_at = utcnow()
    session.add(message)
    return message
