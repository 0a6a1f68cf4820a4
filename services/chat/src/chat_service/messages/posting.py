"""Posting a message: the checks (quota, budget), the answer job queued, the message stored.

The job is queued after the request's reads and before its first write (see
`generation.enqueue`), so a broker that refuses leaves nothing stored.
"""

from __future__ import annotations

import uuid
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from chat_service.agents import service as agents
from chat_service.agents.schemas import ASSISTANT_ID
from chat_service.catalog.service import Model
from chat_service.dialogs import live
from chat_service.messages import generation
from chat_service.messages import repository as repo
from chat_service.messages.errors import EmailNotConfirmed
from chat_service.messages.schemas import MessagePublic
from chat_service.models import Dialog, IdempotencyKey, Message
from chat_service.runtime import Runtime
from chat_service.usage import service as usage
from chat_service.workspaces.ids import personal_id
from kit import account_state
from kit.errors import Conflict
from kit.jwt import AccessClaims


async def confirmed_since_signed(runtime: Runtime, caller: AccessClaims) -> bool:
    """True if the email was confirmed after the caller's token was signed (kit.account_state)."""
    try:
        return bool(await runtime.redis.exists(account_state.email_confirmed_key(caller.user_id)))
    except RedisError:
        return False  # the token's word stands; a fresh token says confirmed anyway


async def admit(runtime: Runtime, session: AsyncSession, caller: AccessClaims) -> None:
    """The checks every new answer passes before anything is queued or stored: the quota of an
    unconfirmed account, and the monthly budget."""
    quota = runtime.settings.unconfirmed_message_quota
    if (
        not caller.email_confirmed
        and await repo.count_by_user(session, caller.user_id, up_to=quota) >= quota
        and not await confirmed_since_signed(runtime, caller)
    ):
        raise EmailNotConfirmed(f"Confirm your email address to send more than {quota} messages.")
    await usage.check_budget(runtime, session, caller.user_id)


async def post_completion(
    runtime: Runtime,
    session: AsyncSession,
    caller: AccessClaims,
    model: Model,
    prompt: list[dict[str, Any]],
    text: str,
    temperature: float | None,
    agent: dict[str, object] | None = None,
    *,
    dialog: Dialog | None = None,
    response: dict[str, object] | None = None,
) -> Message:
    """A program's call (`/v1`, §12): its own `prompt`, answered by the same queue and workers
    as a message. Without a `dialog` it is one exchange in a new hidden dialog (usage, polling,
    the stored answer); `agent` when an agent was addressed as the model; `response` what a
    `/v1/responses` call asked."""
    await admit(runtime, session, caller)
    if dialog is None:
        dialog = Dialog(
            user_id=caller.user_id,
            workspace_id=personal_id(caller.user_id),
            name=text[:60] or "API",
            model=model.id,
            hidden=True,
        )
    message = Message(
        dialog_id=dialog.id,
        user_id=caller.user_id,
        author_name=caller.username,
        message_text=text,
        model=model.id,
        agent=agent,
        key_id=caller.key_id,
        prompt={"messages": prompt, "temperature": temperature},
        response=response,
    )
    await generation.enqueue(runtime, await generation.job_for(runtime, session, dialog, message))
    dialog.updated_at = message.created_at
    session.add(dialog)
    session.add(message)
    await session.flush()
    _announce(runtime, session, dialog, message)
    return message


def _announce(runtime: Runtime, session: AsyncSession, dialog: Dialog, message: Message) -> None:
    """A new message in a shared dialog, to the teammates who have it open (`dialogs.live`)."""
    if dialog.visibility == live.SHARED:
        shown = {"message": MessagePublic.of(message).model_dump(mode="json")}
        live.publish(runtime, session, live.DialogEvent(dialog.id, "message.created", shown, True))


async def post_message(
    runtime: Runtime,
    session: AsyncSession,
    caller: AccessClaims,
    dialog: Dialog,
    text: str,
    model: str | None,
    idempotency_key: str | None = None,
    agent_id: uuid.UUID | None = None,
) -> Message:
    if idempotency_key is not None:
        earlier = await repo.idempotent_message(session, caller.user_id, idempotency_key)
        if earlier is not None:
            return earlier
    await admit(runtime, session, caller)
    agent = await agents.addressed(
        runtime, session, caller, dialog.agent_id, text, agent_id, dialog.workspace_id
    )
    message = Message(
        dialog_id=dialog.id,
        user_id=caller.user_id,
        author_name=caller.username,
        message_text=text,
        # a model asked for with the message, else the agent's, else the dialog's
        model=model or agent.model or dialog.model,
        agent=None if agent.id == ASSISTANT_ID else agents.ref(runtime, agent),
        key_id=caller.key_id,
    )
    await generation.enqueue(runtime, await generation.job_for(runtime, session, dialog, message))
    session.add(message)
    dialog.updated_at = message.created_at
    session.add(dialog)  # a new dialog (created with its first message) is inserted here
    await session.flush()
    _announce(runtime, session, dialog, message)
    if idempotency_key is not None:
        try:
            async with session.begin_nested():
                session.add(
                    IdempotencyKey(
                        user_id=caller.user_id, key=idempotency_key, message_id=message.id
                    )
                )
        except IntegrityError:
            # the same key raced us in another request: that one's message is the answer
            raise Conflict(
                "A request with this Idempotency-Key is in progress.", code="idempotency_conflict"
            ) from None
    return message
