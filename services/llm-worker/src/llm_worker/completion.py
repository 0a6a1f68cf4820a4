"""Generating one answer: stream from the provider, mirror deltas to Redis, report to chat."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import openai
from redis import Redis

from llm_worker import metrics
from llm_worker.answer_stream import AnswerStream
from llm_worker.chat_client import ChatClient, MessageGone

log = logging.getLogger(__name__)


@dataclass
class Job:
    message_id: uuid.UUID
    generation: int
    model: str
    messages: list[dict[str, Any]]


@dataclass
class Outcome:
    text: str = ""
    usage: dict[str, int] = field(default_factory=dict)
    error: dict[str, Any] | None = None


def _error(code: str, message: str, retryable: bool) -> dict[str, Any]:
    return {"code": code, "message": message, "retryable": retryable}


def classify(exc: Exception) -> dict[str, Any]:
    """A readable, stable error for the user from a provider failure."""
    if isinstance(exc, openai.RateLimitError):
        body = exc.body if isinstance(exc.body, dict) else {}
        if body.get("code") == "insufficient_quota" or "insufficient_quota" in str(exc):
            return _error("provider_quota", "The model provider's quota is used up.", False)
        return _error("provider_rate_limited", "The model provider is rate limiting us.", True)
    if isinstance(exc, openai.APITimeoutError):
        return _error("provider_timeout", "The model stopped answering.", True)
    if isinstance(exc, openai.APIConnectionError):
        return _error("provider_unreachable", "The model provider cannot be reached.", True)
    if isinstance(exc, openai.APIStatusError):
        if exc.status_code >= 500:
            return _error("provider_error", f"The model provider failed ({exc.status_code}).", True)
        return _error("provider_rejected", f"The model provider refused the request ({exc.status_code}).", False)
    return _error("generation_failed", "The answer could not be generated.", True)


def stream_answer(client: openai.OpenAI, job: Job, out: AnswerStream, outcome: Outcome, started: float) -> None:
    stream = client.chat.completions.create(
        model=job.model,
        messages=job.messages,  # type: ignore[arg-type]
        stream=True,
        stream_options={"include_usage": True},
    )
    first = True
    with stream:
        for chunk in stream:
            if chunk.usage is not None:
                outcome.usage = {
                    "prompt_tokens": chunk.usage.prompt_tokens,
                    "completion_tokens": chunk.usage.completion_tokens,
                    "total_tokens": chunk.usage.total_tokens,
                }
            for choice in chunk.choices:
                text = choice.delta.content if choice.delta else None
                if text:
                    if first:
                        metrics.TTFT.labels(job.model).observe(time.monotonic() - started)
                        first = False
                    outcome.text += text
                    out.append("delta", {"text": text})


def generate(job: Job, *, llm: openai.OpenAI, chat: ChatClient, redis: Redis) -> str:
    """Produce and store the answer for one job; returns the final status."""
    started = time.monotonic()
    try:
        chat.start(job.message_id, job.generation)
    except MessageGone as gone:
        log.info("message ended before generation started (%s)", gone)
        return "skipped"
    out = AnswerStream(redis, job.message_id)
    outcome = Outcome()
    metrics.INFLIGHT.inc()
    try:
        stream_answer(llm, job, out, outcome, started)
    except Exception as exc:
        outcome.error = classify(exc)
        log.warning("generation failed: %s", exc)
    finally:
        metrics.INFLIGHT.dec()
    status = "failed" if outcome.error else "completed"
    body = {
        "generation": job.generation,
        "status": status,
        "answer_text": outcome.text,
        "error": outcome.error,
        "usage": outcome.usage or None,
    }
    try:
        stored = chat.answer(job.message_id, body)
    except MessageGone as gone:
        log.info("answer not stored: %s", gone)
        return "skipped"
    if outcome.error:
        out.end("error", outcome.error)
    else:
        out.end("done", {"message": stored})
    metrics.ANSWERS.labels(stored["status"]).inc()
    metrics.GENERATION.labels(job.model).observe(time.monotonic() - started)
    for kind in ("prompt_tokens", "completion_tokens"):
        if kind in outcome.usage:
            metrics.TOKENS.labels(job.model, kind.removesuffix("_tokens")).inc(outcome.usage[kind])
    return str(stored["status"])
