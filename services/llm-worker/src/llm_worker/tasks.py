"""Celery tasks: decode, call the plain function, decide what to do with failures."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from celery import Task

from kit import answer_jobs
from kit.logging import message_id_var, request_id_var
from llm_worker import clients
from llm_worker.celery_app import app
from llm_worker.completion import failed, generate, report

log = logging.getLogger(__name__)
CALLBACK_RETRY_SECONDS = 15
TASK_RETRIES = 20


def give_up(message_id: uuid.UUID, generation: int, exc: Exception) -> str:
    log.error("answer job failed for good: %s", exc)
    body = failed(generation, "worker_error", "The answer could not be produced.", True)
    try:
        clients.chat().answer(message_id, body)
    except Exception:
        log.exception("could not tell chat; its reaper will fail the message")
    return "failed"


@app.task(name=answer_jobs.TASK, bind=True, max_retries=TASK_RETRIES)
def generate_answer(
    self: Task,
    message_id: str,
    generation: int,
    model: str,
    messages: list[dict[str, Any]],
    provider: str = "",
    temperature: float | None = None,
    request_id: str | None = None,
    outcome: dict[str, Any] | None = None,
) -> str:
    request_token = request_id_var.set(request_id)
    message_token = message_id_var.set(message_id)
    try:
        try:
            provider = provider or clients.providers().first.name
            if outcome is not None:  # the answer exists; only chat still has to hear it
                status, unsent = report(
                    clients.chat(), uuid.UUID(message_id), outcome, clients.redis(), provider
                )
            else:
                job = answer_jobs.Job(
                    message_id=uuid.UUID(message_id),
                    generation=generation,
                    model=model,
                    messages=messages,
                    provider=provider,
                    temperature=temperature,
                )
                status, unsent = generate(
                    job,
                    llm=clients.llm(provider),
                    chat=clients.chat(),
                    redis=clients.redis(),
                    inflight=clients.inflight(),
                )
        except Exception as exc:
            # Chat or Redis unreachable for longer than their own retries: run the whole job
            # again later rather than let Celery acknowledge a failed job (which would leave
            # the message queued forever); the last try fails the message clearly.
            if self.request.retries >= TASK_RETRIES:
                return give_up(uuid.UUID(message_id), generation, exc)
            log.warning("answer job failed (%s); retrying it", exc)
            raise self.retry(countdown=min(60, 2**self.request.retries)) from exc
        log.info("answer %s", status, extra={"status": status})
        if unsent is not None:
            raise self.retry(
                kwargs={**self.request.kwargs, "outcome": unsent}, countdown=CALLBACK_RETRY_SECONDS
            )
        return status
    finally:
        message_id_var.reset(message_token)
        request_id_var.reset(request_token)
