"""The life of a generation of an answer, after its message is posted (`posting`).

The database holds a message `queued` until its outcome is stored: completed or failed (the
worker's one callback: `record_answer`), cancelled (`cancel`), or failed by the sweep. While it
is generated, Redis alone holds its state (`kit.answers`: the stream, the worker's lease and
heartbeat, the end mark), and a poll shows `generating` from the lease
(`answering.stream.live_statuses`). The worker never tells chat it has begun: chat queues the
job before its commit (see `enqueue`), so a "begun" call could arrive before the message exists,
and the retries that needed made the worker's most complex code.

`regenerate` starts a new generation of an ended answer; callbacks and jobs of older
generations are ignored (the end mark and the generation number). `sweep` is the safety net:
it queues again an answer no worker ever began (a job lost on its way) and fails one whose
worker stopped beating with nothing taking over.

Every path that ends a message writes the final `done`/`error` entry and the end mark after its
commit, and records `chat.message_completed|failed` in the outbox for webhooks, so stream
readers, pollers, workers and webhook receivers see the same outcome.
"""

from __future__ import annotations

import logging
import time
import uuid

from sqlmodel.ext.asyncio.session import AsyncSession

from chat_service.agents import service as agents
from chat_service.dialogs import live
from chat_service.messages import context as prompt
from chat_service.messages import repository as repo
from chat_service.messages.answering import stream as answer_stream
from chat_service.messages.errors import MessageInProgress, MessageNotFound, StaleGeneration
from chat_service.messages.schemas import MessagePublic
from chat_service.models import Dialog, Message, MessageStatus
from chat_service.runtime import Runtime
from chat_service.usage import service as usage
from chat_service.webhooks import service as webhooks
from kit import answers, event_types
from kit.answer_jobs import AnswerIn, Job
from kit.db import after_commit, utcnow
from kit.errors import Conflict, ServiceUnavailable
from kit.outbox import add_event

log = logging.getLogger(__name__)


async def job_for(runtime: Runtime, session: AsyncSession, dialog: Dialog, message: Message) -> Job:
    model = await runtime.catalog.route(message.model)
    if message.prompt is not None:  # a program's own prompt (§12), sent as it is
        return Job(
            message_id=message.id,
            generation=message.generation,
            model=model.provider_model,
            provider=model.provider,
            queue=model.queue,
            messages=message.prompt["messages"],
            temperature=message.prompt.get("temperature"),
        )
    history = await repo.recent_exchanges(
        session, dialog.id, runtime.settings.context_messages, before=message
    )
    agent = await agents.answering(runtime, session, message.agent)
    budget = model.context_tokens - runtime.settings.answer_reserve_tokens
    messages = prompt.build(
        [agent.instructions, dialog.instructions],
        history,
        [{"role": "user", "content": agents.text_for_model(message.message_text, message.agent)}],
        budget,
        agent.handle,
    )
    return Job(
        message_id=message.id,
        generation=message.generation,
        model=model.provider_model,
        provider=model.provider,
        queue=model.queue,
        messages=messages,
        temperature=agent.temperature,
    )


async def enqueue(runtime: Runtime, job: Job) -> None:
    """Queue the answer job; called after the request's reads and before its first write.

    Before any write: if the broker refuses, the request fails and nothing is stored; and on
    SQLite a transaction holds the process's write turn (`kit.db.SqliteWriteTurns`) from its
    first write to its commit, so a broker round trip inside it would make every other writer
    wait as well (under a burst of new messages that wait was most of their time). The worker
    tolerates the moment before the commit lands; a job whose message never committed (the
    commit failed, or an Idempotency-Key race was lost) ends as `skipped`.
    """
    try:
        await runtime.jobs.enqueue_answer(job)
    except Exception as exc:
        raise ServiceUnavailable(
            "The answer queue is unavailable; try again shortly.", code="queue_unavailable"
        ) from exc
    log.info("answer job queued", extra={"message_id": job.message_id})


async def _current(session: AsyncSession, message_id: uuid.UUID, generation: int) -> Message:
    message = await session.get(Message, message_id)
    # A newer generation than stored is a regenerate whose commit has not landed yet: like an
    # unknown message, the worker asks again shortly.
    if message is None or generation > message.generation:
        raise MessageNotFound()
    if generation < message.generation:
        raise StaleGeneration("A newer generation of this answer exists.")
    return message


async def _end(runtime: Runtime, session: AsyncSession, message: Message) -> None:
    """After commit: the final stream entry; in the transaction: the webhook event."""
    public = MessagePublic.of(message).model_dump(mode="json")
    if message.status == MessageStatus.failed and message.error is not None:
        kind, data = "error", dict(message.error)
    else:
        kind, data = "done", {"message": public}
    await webhooks.queue_for_message(session, message, public)
    if message.status in (MessageStatus.completed, MessageStatus.failed):
        add_event(
            session,
            event_types.message_ended_type(message.status),
            event_types.message_ended(message.id, message.dialog_id, message.user_id, public),
        )

    # in the same round trip: the news for the dialog's open event streams, if it has any
    news = live.DialogEvent(message.dialog_id, "message.updated", {"message": public}, False)

    async def write() -> None:
        await answer_stream.write_final(
            runtime.redis, message.id, message.generation, kind, data, news
        )

    after_commit(session, write)


async def record_answer(
    runtime: Runtime, session: AsyncSession, message_id: uuid.UUID, answer: AnswerIn
) -> Message:
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
    await usage.record(session, message)
    await session.flush()
    await _end(runtime, session, message)
    log.info("answer stored: %s", message.status, extra={"message_id": message.id})
    return message


async def cancel(runtime: Runtime, session: AsyncSession, message: Message) -> Message:
    """Stop the answer: the partial text is kept; the end mark, written after the commit,
    makes the worker close its upstream request (or skip the job if it has not begun)."""
    if MessageStatus(message.status).terminal:
        raise Conflict("This message has already ended.", code="message_ended")
    message.status = MessageStatus.cancelled
    message.answer_text = await answer_stream.partial_text(runtime.redis, message.id)
    message.completed_at = utcnow()
    session.add(message)
    await session.flush()
    await _end(runtime, session, message)
    return message


async def regenerate(
    runtime: Runtime, session: AsyncSession, dialog: Dialog, message: Message
) -> Message:
    """Replace an ended answer with a new one (a new generation; older callbacks are ignored)."""
    if not MessageStatus(message.status).terminal:
        raise MessageInProgress("The answer is still being generated; stop it first.")
    await usage.check_budget(runtime, session, message.user_id)
    with session.no_autoflush:  # the job's reads must not write the changes below yet
        message.generation += 1
        job = await job_for(runtime, session, dialog, message)
    # the ended generation's end mark stays: it keeps a late copy of its job from running
    await runtime.redis.delete(answers.stream_key(message.id))
    await enqueue(runtime, job)
    message.status = MessageStatus.queued
    message.answer_text = ""
    message.error = None
    message.usage = None
    message.completed_at = None
    session.add(message)
    await session.flush()
    shown = {"message": MessagePublic.of(message).model_dump(mode="json")}
    live.publish(runtime, session, live.DialogEvent(dialog.id, "message.updated", shown, False))
    return message


async def sweep(runtime: Runtime, session: AsyncSession) -> tuple[int, int]:
    """Look at answers still `queued` a grace period after they were posted: queue again those
    no worker ever began, fail those whose worker stopped beating. (queued again, failed)

    A job lost on its way (a broker that dropped it, a worker that acknowledged a job it could
    not run) has left no heartbeat; a second copy of one that was only slow is harmless, as the
    lease and the end mark make sure one answer is stored. A worker that died mid-answer is
    replaced by the broker's redelivery within the visibility timeout, which the grace exceeds:
    a heartbeat older than the grace means nothing took over.
    """
    grace = runtime.settings.reaper_grace_seconds
    now = time.time()
    requeued = failed = 0
    for message in await repo.in_progress(session, 500):
        if now - message.created_at.timestamp() < grace:
            continue
        lease, beat = await runtime.redis.mget(
            answers.lease_key(message.id), answers.heartbeat_key(message.id)
        )
        if lease is not None or (beat is not None and now - float(beat) < grace):
            continue  # a worker is on it
        if beat is None:
            if await runtime.redis.set(f"parley:requeued:{message.id}", 1, nx=True, ex=grace):
                dialog = await session.get(Dialog, message.dialog_id)
                if dialog is not None:
                    await enqueue(runtime, await job_for(runtime, session, dialog, message))
                    requeued += 1
            continue
        message.status = MessageStatus.failed
        message.answer_text = await answer_stream.partial_text(runtime.redis, message.id)
        message.error = {
            "code": "worker_lost",
            "message": "The answer stopped; try again.",
            "retryable": True,
        }
        message.completed_at = utcnow()
        session.add(message)
        await session.flush()
        await _end(runtime, session, message)
        failed += 1
    return requeued, failed
