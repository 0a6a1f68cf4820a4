"""Celery tasks: decode, call the plain function, decide what to do with failures."""

from __future__ import annotations

import logging
import uuid
from functools import cache
from typing import Any

import httpx2
import openai
from celery import Task
from redis import Redis

from kit.logging import message_id_var, request_id_var
from kit.redis_clients import sync_redis
from llm_worker.celery_app import app
from llm_worker.chat_client import ChatClient
from llm_worker.completion import Job, generate, report
from llm_worker.config import settings
from llm_worker.inflight import InFlight

log = logging.getLogger(__name__)
CALLBACK_RETRY_SECONDS = 15
TASK_RETRIES = 20


@cache
def _llm() -> openai.OpenAI:
    # the SDK is built on httpx2: its own client class, sized for every generation at once
    timeout = httpx2.Timeout(settings.llm_timeout, connect=10.0)
    return openai.OpenAI(
        api_key=settings.openai_api_key or "not-needed",
        base_url=settings.base_url,
        max_retries=0,
        timeout=timeout,
        http_client=openai.DefaultHttpxClient(
            timeout=timeout,
            limits=httpx2.Limits(
                max_connections=settings.concurrency + 10, max_keepalive_connections=100
            ),
        ),
    )


@cache
def _chat() -> ChatClient:
    return ChatClient(settings.chat_url, settings.internal_token)


@cache
def _redis() -> Redis:
    return sync_redis(settings.redis_url, health_check_interval=30)


@cache
def _inflight() -> InFlight:
    return InFlight(_redis())


def give_up(message_id: uuid.UUID, generation: int, exc: Exception) -> str:
    log.error("answer job failed for good: %s", exc)
    error = {
        "code": "worker_error",
        "message": "The answer could not be produced.",
        "retryable": True,
    }
    try:
        _chat().answer(message_id, {"generation": generation, "status": "failed", "error": error})
    except Exception:
        log.exception("could not tell chat; its reaper will fail the message")
    return "failed"


def warm_up() -> None:
    """Build the shared clients before the first job: hundreds of threads racing to build
    them (each loading TLS certificates) would otherwise stall the first answers."""
    _llm()
    _chat()
    _inflight()


def readiness_checks() -> dict[str, Any]:
    return {"redis": _redis().ping}


@app.task(name="llm.generate_answer", bind=True, max_retries=TASK_RETRIES)
def generate_answer(
    self: Task,
    message_id: str,
    generation: int,
    model: str,
    messages: list[dict[str, Any]],
    request_id: str | None = None,
    outcome: dict[str, Any] | None = None,
) -> str:
    request_token = request_id_var.set(request_id)
    message_token = message_id_var.set(message_id)
    try:
        try:
            if outcome is not None:  # the answer exists; only chat still has to hear it
                status, unsent = report(_chat(), uuid.UUID(message_id), outcome, _redis())
            else:
                job = Job(uuid.UUID(message_id), generation, model, messages)
                status, unsent = generate(
                    job, llm=_llm(), chat=_chat(), redis=_redis(), inflight=_inflight()
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
