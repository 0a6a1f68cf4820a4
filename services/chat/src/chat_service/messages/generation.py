"""The life of a generation of an answer, after its message is posted (`posting`).

queued (job on the broker) → generating (a worker began: `start_generations`) → completed |
failed (the worker's callback: `record_answer`) | cancelled (`cancel`); `regenerate` starts a
new generation of an ended answer; `requeue_stranded` and `reap` are the safety nets for a job
lost on its way and a worker that died.

Who owns what while an answer is in flight: Redis holds the tokens (`kit.answers`: the stream,
the worker's lease and heartbeat, the cancel flag) and the database holds the status. Chat
queues the job before its commit (see `enqueue`), so the worker may begin before the message
exists: it announces "generating" in the background, asking again while chat says `unknown`
(`llm_worker.chat_client.ChatClient.start_in_background`), and never waits for that to stream
tokens; its one final callback per generation settles the message whatever the announcement
did. Chat answers `generating` to pollers from the database.

Every path that ends a message (answer stored, cancel, reaper) writes the final `done`/`error`
entry to the answer stream after its commit, and records `chat.message_completed|failed` in the
outbox for webhooks, so stream readers, pollers and webhook receivers see the same outcome.
"""

from __future__ import annotations

import logging
import time
import uuid

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from chat_service.messages import context as prompt
from chat_service.messages import repository as repo
from chat_service.messages.answering import stream as answers
from chat_service.messages.errors import MessageInProgress, MessageNotFound, StaleGeneration
from chat_service.messages.schemas import MessagePublic
from chat_service.models import Dialog, Message, MessageStatus
from chat_service.runtime import Runtime
from chat_service.webhooks import service as webhooks
from kit import answers as stream
from kit import event_types
from kit.answer_jobs import AnswerIn, Job, StartOutcome
from kit.db import after_commit, utcnow
from kit.errors import Conflict, ServiceUnavailable
from kit.outbox import add_event

log = logging.getLogger(__name__)


async def job_for(runtime: Runtime, session: AsyncSession, dialog: Dialog, message: Message) -> Job:
    history = await repo.recent_exchanges(
        session, dialog.id, runtime.settings.context_messages, before=message
    )
    budget = runtime.settings.context_tokens(message.model) - runtime.settings.answer_reserve_tokens
    messages = prompt.build(dialog.system_prompt, history, message.message_text, budget)
    return Job(
        message_id=message.id, generation=message.generation, model=message.model, messages=messages
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
    if message.status in (MessageStatus.completed, MessageStatus.failed):
        await webhooks.queue_for_message(session, message, public)
        add_event(
            session,
            event_types.message_ended_type(message.status),
            event_types.message_ended(message.id, message.dialog_id, message.user_id, public),
        )

    async def write() -> None:
        await answers.write_final(runtime.redis, message.id, kind, data)

    after_commit(session, write)


async def start_generations(
    session: AsyncSession, wanted: dict[uuid.UUID, int]
) -> dict[uuid.UUID, StartOutcome]:
    """The worker begins (or, after a crash, begins again) answers: message id -> generation.

    Each comes back `generating`; `ended` (it was cancelled or has its answer), `superseded`
    (regenerated since) or `unknown` (not committed yet, or never). One UPDATE per generation
    number in the batch, usually one, and one read: under a burst a worker reports hundreds.
    """
    by_generation: dict[int, list[uuid.UUID]] = {}
    for message_id, generation in wanted.items():
        by_generation.setdefault(generation, []).append(message_id)
    for generation, ids in by_generation.items():
        await session.exec(
            update(Message)
            .where(
                col(Message.id).in_(ids),
                col(Message.generation) == generation,
                col(Message.status).in_((MessageStatus.queued, MessageStatus.generating)),
            )
            .values(status=MessageStatus.generating)
        )
    outcomes: dict[uuid.UUID, StartOutcome] = dict.fromkeys(wanted, "unknown")
    stored = await session.exec(
        select(col(Message.id), col(Message.generation), col(Message.status)).where(
            col(Message.id).in_(list(wanted))
        )
    )
    for message_id, generation, status in stored:
        asked = wanted[message_id]
        if asked < generation:
            outcomes[message_id] = "superseded"
        elif asked == generation:
            outcomes[message_id] = "generating" if status == MessageStatus.generating else "ended"
        # a newer generation than stored is a regenerate whose commit has not landed yet
    return outcomes


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
    await session.flush()
    await _end(runtime, session, message)
    log.info("answer stored: %s", message.status, extra={"message_id": message.id})
    return message


async def cancel(runtime: Runtime, session: AsyncSession, message: Message) -> Message:
    """Stop the answer: the partial text is kept and the worker closes its upstream request."""
    if MessageStatus(message.status).terminal:
        raise Conflict("This message has already ended.", code="message_ended")
    message.status = MessageStatus.cancelled
    message.answer_text = await answers.partial_text(runtime.redis, message.id)
    message.completed_at = utcnow()
    session.add(message)
    await session.flush()
    await runtime.redis.set(stream.cancel_key(message.id), message.generation, ex=3600)
    await _end(runtime, session, message)
    return message


async def regenerate(
    runtime: Runtime, session: AsyncSession, dialog: Dialog, message: Message
) -> Message:
    """Replace an ended answer with a new one (a new generation; older callbacks are ignored)."""
    if not MessageStatus(message.status).terminal:
        raise MessageInProgress("The answer is still being generated; stop it first.")
    with session.no_autoflush:  # the job's reads must not write the changes below yet
        message.generation += 1
        job = await job_for(runtime, session, dialog, message)
    await runtime.redis.delete(stream.stream_key(message.id), stream.cancel_key(message.id))
    await enqueue(runtime, job)
    message.status = MessageStatus.queued
    message.answer_text = ""
    message.error = None
    message.usage = None
    message.completed_at = None
    session.add(message)
    await session.flush()
    return message


async def requeue_stranded(runtime: Runtime, session: AsyncSession) -> int:
    """Queue again answers still `queued` long after they were posted, with no worker on them.

    A safety net for a job lost on its way (a broker that dropped it, a worker that acknowledged
    a job it could not run). A second copy is harmless: the lease, the generation and chat's
    refusal to start an ended message make sure only one answer is stored.
    """
    grace = runtime.settings.reaper_grace_seconds
    now = time.time()
    requeued = 0
    for message in await repo.in_progress(session, MessageStatus.queued, 500):
        if now - message.created_at.timestamp() < grace:
            continue
        if await runtime.redis.exists(stream.lease_key(message.id)):
            continue
        if not await runtime.redis.set(f"parley:requeued:{message.id}", 1, nx=True, ex=grace):
            continue
        dialog = await session.get(Dialog, message.dialog_id)
        if dialog is not None:
            await runtime.jobs.enqueue_answer(await job_for(runtime, session, dialog, message))
            requeued += 1
    return requeued


async def reap(runtime: Runtime, session: AsyncSession) -> int:
    """Fail answers whose worker stopped sending heartbeats (it died and nothing took over)."""
    grace = runtime.settings.reaper_grace_seconds
    now = time.time()
    failed = 0
    for message in await repo.in_progress(session, MessageStatus.generating, 500):
        beat = await runtime.redis.get(stream.heartbeat_key(message.id))
        last = float(beat) if beat is not None else message.created_at.timestamp()
        if now - last < grace:
            continue
        message.status = MessageStatus.failed
        message.answer_text = await answers.partial_text(runtime.redis, message.id)
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
    return failed
