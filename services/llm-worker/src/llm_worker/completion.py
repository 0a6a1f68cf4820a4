"""Generating one answer: stream from the provider, mirror deltas to Redis, report to chat.

Failure rules (each ends with the message answered once or clearly failed):
- 429 (honouring Retry-After), 5xx, timeouts and connection errors *before the first token* are
  retried a bounded number of times with exponential backoff and jitter; `insufficient_quota` and
  other 4xx are not retried.
- After the first token nothing is retried: the partial answer is kept with a retryable error
  (a stream that stalls past the read timeout, or ends without finishing, included).
- A redelivered job (its worker died) starts the answer again after a `reset` entry; a job
  delivered too many times fails instead of looping.

Chat hears of an answer once, its outcome; while it runs, the lease in Redis says it is being
generated, and the end mark says it ended elsewhere (`kit.answers`).
"""

from __future__ import annotations

import json
import logging
import math
import random
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import openai
from redis import Redis
from redis.exceptions import RedisError

from kit import answers
from kit.answer_jobs import AnswerError, AnswerIn, Job
from llm_worker import metrics
from llm_worker.chat_client import ChatClient, ChatUnavailable, MessageGone
from llm_worker.inflight import Generation, InFlight
from llm_worker.provider_stream import ProviderStream

log = logging.getLogger(__name__)
MAX_DELIVERIES = 3
PROVIDER_RETRIES = 3
MAX_RETRY_AFTER_SECONDS = 60.0


@dataclass
class Outcome:
    text: str = ""
    usage: dict[str, int] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    finished: bool = False
    cancelled: bool = False

    def callback_body(self, generation: int) -> dict[str, Any]:
        body = AnswerIn(
            generation=generation,
            status="failed" if self.error else "completed",
            answer_text=self.text,
            error=AnswerError.model_validate(self.error) if self.error else None,
            usage=self.usage or None,
        )
        return body.model_dump(mode="json")


def estimated_usage(messages: list[dict[str, Any]], answer: str) -> dict[str, int]:
    """Token counts for a provider that gave none (docs/DESIGN.md §11), marked `estimated`:
    about four characters a token, and a few tokens of framing per message, as OpenAI's own
    rule of thumb for English text."""
    prompt_chars = sum(len(str(m.get("content") or "")) for m in messages)
    prompt = math.ceil(prompt_chars / 4) + 4 * len(messages)
    completion = math.ceil(len(answer) / 4)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "estimated": 1,
    }


class TransientBeforeFirstToken(Exception):
    def __init__(self, reason: str, delay: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay = delay


def _error(code: str, message: str, retryable: bool) -> dict[str, Any]:
    return {"code": code, "message": message, "retryable": retryable}


def failed(generation: int, code: str, message: str, retryable: bool) -> dict[str, Any]:
    """The callback body of an answer that failed before any text."""
    return Outcome(error=_error(code, message, retryable)).callback_body(generation)


def _retry_after(exc: openai.APIStatusError) -> float | None:
    value = exc.response.headers.get("retry-after") if exc.response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def classify(exc: Exception) -> dict[str, Any]:
    """A readable, stable error for the user from a provider failure."""
    if isinstance(exc, openai.RateLimitError):
        if _is_quota(exc):
            return _error("provider_quota", "The model provider's quota is used up.", False)
        return _error(
            "provider_rate_limited",
            "The model provider is rate limiting us; try again later.",
            True,
        )
    if isinstance(exc, openai.APITimeoutError):
        return _error("provider_timeout", "The model stopped answering.", True)
    if isinstance(exc, openai.APIConnectionError):
        return _error("provider_unreachable", "The model provider cannot be reached.", True)
    if isinstance(exc, openai.APIStatusError):
        # The provider's own text can carry a masked key, an organisation id or internals: the
        # user gets our words for the class of error, the log gets the provider's (redacted).
        log.warning("provider answered %s: %s", exc.status_code, redact(str(exc)))
        if exc.status_code >= 500:
            return _error("provider_error", f"The model provider failed ({exc.status_code}).", True)
        return _error("provider_rejected", REJECTED.get(exc.status_code, REJECTED_OTHER), False)
    return _error("generation_failed", "The answer could not be generated.", True)


REJECTED = {
    400: "The model could not accept this request (400).",
    401: "The model provider refused Parley's credentials (401); tell your administrator.",
    403: "The model provider refused access to this model (403); tell your administrator.",
    404: "This model is not available at its provider (404).",
    413: "The conversation is too long for this model (413).",
    422: "The model could not accept this request (422).",
}
REJECTED_OTHER = "The model provider refused the request."
# API keys ("sk-…", "sk-proj-…", masked "sk-abc***xyz"), organisation and project ids
_SECRETS = re.compile(r"\b(sk|pk|rk|org|proj|key)[-_][A-Za-z0-9_*.\-]{4,}", re.IGNORECASE)


def redact(text: str) -> str:
    """Text fit for the log: key-, organisation- and project-like tokens replaced."""
    return _SECRETS.sub(lambda m: f"{m.group(1)}-[redacted]", text)


def _is_quota(exc: openai.APIStatusError) -> bool:
    body = exc.body if isinstance(exc.body, dict) else {}
    code = (
        body.get("code") or (body.get("error") or {}).get("code")
        if isinstance(body, dict)
        else None
    )
    return code == "insufficient_quota" or "insufficient_quota" in str(exc)


def stream_once(
    client: openai.OpenAI,
    job: Job,
    inflight: InFlight,
    gen: Generation,
    outcome: Outcome,
    started: float,
) -> None:
    """One call to the provider; raises TransientBeforeFirstToken when a retry is worth it."""
    try:
        # The SDK's low-level `post` (documented for custom requests): the same errors and SSE
        # parsing as `chat.completions.create`, without walking every message of the context
        # through type annotations (a quarter of the worker's CPU), and with each chunk as the
        # plain JSON object it is rather than a model object (most of the cost of a token).
        body: dict[str, Any] = {
            "model": job.model,
            "messages": job.messages,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if job.temperature is not None:  # the agent's; else the provider's default
            body["temperature"] = job.temperature
        stream = client.post(
            "/chat/completions",
            body=body,
            cast_to=object,
            stream=True,
            stream_cls=ProviderStream,
        )
    except openai.RateLimitError as exc:
        if _is_quota(exc):
            raise
        raise TransientBeforeFirstToken("rate_limited", _retry_after(exc)) from exc
    except openai.APIStatusError as exc:
        if exc.status_code >= 500:
            raise TransientBeforeFirstToken(f"http_{exc.status_code}", _retry_after(exc)) from exc
        raise
    except (openai.APITimeoutError, openai.APIConnectionError) as exc:
        raise TransientBeforeFirstToken("connection") from exc
    gen.on_cancel = stream.close
    if gen.cancelled.is_set():  # cancelled while the request was being made
        stream.close()
        return
    with stream:
        for chunk in stream:
            if not isinstance(chunk, dict):
                continue
            if isinstance(usage := chunk.get("usage"), dict):
                outcome.usage = {
                    name: int(usage.get(name) or 0)
                    for name in ("prompt_tokens", "completion_tokens", "total_tokens")
                }
            for choice in chunk.get("choices") or ():
                delta = choice.get("delta") or {}
                text = delta.get("content")
                if text and isinstance(text, str):
                    if not outcome.text:
                        metrics.TTFT.labels(job.provider, job.model).observe(
                            time.monotonic() - started
                        )
                    outcome.text += text
                    inflight.delta(gen, text)
                if choice.get("finish_reason") is not None:
                    outcome.finished = True


def run_provider(
    client: openai.OpenAI, job: Job, inflight: InFlight, gen: Generation, outcome: Outcome
) -> None:
    started = time.monotonic()
    delay = 1.0
    for attempt in range(PROVIDER_RETRIES + 1):
        try:
            stream_once(client, job, inflight, gen, outcome, started)
        except TransientBeforeFirstToken as exc:
            wait = exc.delay if exc.delay is not None else delay * (0.5 + random.random())
            if attempt == PROVIDER_RETRIES or wait > MAX_RETRY_AFTER_SECONDS:
                outcome.error = classify(exc.__cause__ or exc)  # type: ignore[arg-type]
                return
            metrics.RETRIES.labels(exc.reason, job.provider).inc()
            log.info("provider said %s; retrying in %.1fs", exc.reason, wait)
            if gen.cancelled.wait(wait):
                outcome.cancelled = True
                return
            delay *= 2
            continue
        except Exception as exc:
            if gen.cancelled.is_set():
                outcome.cancelled = True
                return
            outcome.error = classify(exc)
            log.warning("generation failed: %s", redact(str(exc)))
            return
        if gen.cancelled.is_set():
            outcome.cancelled = True
        elif not outcome.finished:
            outcome.error = _error(
                "provider_stream_incomplete", "The model's answer was cut off.", True
            )
        return


def generate(
    job: Job, *, llm: openai.OpenAI | None, chat: ChatClient, redis: Redis, inflight: InFlight
) -> tuple[str, dict[str, Any] | None]:
    """Produce the answer for one job; `llm` is its provider's client, None when this worker
    does not know the provider (its providers file differs from chat's): the answer fails.

    Returns a status and, when chat could not be told, the callback body to send again later.
    """
    gen = inflight.acquire(job.message_id, job.generation)
    if gen is None:
        log.info("another worker is generating this answer; not running a second copy")
        return "duplicate", None
    try:
        deliveries_key = f"parley:deliveries:{job.message_id}:{job.generation}"
        with redis.pipeline(transaction=False) as pipe:  # one round trip for the bookkeeping
            pipe.get(answers.ended_key(job.message_id))
            pipe.get(parked_key(job.message_id, job.generation))
            pipe.incr(deliveries_key)
            pipe.expire(deliveries_key, 24 * 3600)
            ended, parked, deliveries, _ = pipe.execute()
        if answers.has_ended(ended, job.generation):
            # cancelled while queued, or a copy of a job whose answer is stored or replaced
            log.info("answer ended before this job began; skipping it")
            return "skipped", None
        if parked is not None:  # generated earlier; chat only has to hear it
            return report(chat, job.message_id, json.loads(parked), redis, job.provider)
        outcome = Outcome()
        if llm is None:
            log.error("no provider %r is configured on this worker", job.provider)
            outcome.error = _error(
                "provider_unknown", "The model's provider is not configured; ask an admin.", False
            )
        elif int(deliveries) > MAX_DELIVERIES:
            outcome.error = _error(
                "too_many_attempts", "The answer failed repeatedly; try again.", True
            )
        else:
            if int(deliveries) > 1:
                metrics.RETRIES.labels("redelivered", job.provider).inc()
                inflight.reset(gen)
            metrics.INFLIGHT.labels(job.provider).inc()
            started = time.monotonic()
            try:
                run_provider(llm, job, inflight, gen, outcome)
            finally:
                metrics.INFLIGHT.labels(job.provider).dec()
            try:
                inflight.flush(gen)  # the stream's deltas before chat's final `done`
            except RedisError as exc:  # chat's `done` carries the whole answer anyway
                log.warning("could not write the last deltas: %s", exc)
            metrics.GENERATION.labels(job.provider, job.model).observe(time.monotonic() - started)
            for kind in ("prompt", "completion"):
                if f"{kind}_tokens" in outcome.usage:
                    metrics.TOKENS.labels(job.provider, job.model, kind).inc(
                        outcome.usage[f"{kind}_tokens"]
                    )
            if not outcome.usage and outcome.text:
                outcome.usage = estimated_usage(job.messages, outcome.text)
        if gen.lost:  # the copy that holds the lease now reports the answer
            return "duplicate", None
        if outcome.cancelled:
            return "cancelled", None
        return report(
            chat, job.message_id, outcome.callback_body(job.generation), redis, job.provider
        )
    finally:
        inflight.release(gen)


def parked_key(message_id: uuid.UUID, generation: int) -> str:
    """An answer generated but not yet accepted by chat, for any later copy of the job."""
    return f"parley:parked-answer:{message_id}:{generation}"


def report(
    chat: ChatClient, message_id: uuid.UUID, body: dict[str, Any], redis: Redis, provider: str
) -> tuple[str, dict[str, Any] | None]:
    """Tell chat the outcome; on failure park it and hand it back so the task retries just this."""
    key = parked_key(message_id, int(body["generation"]))
    try:
        stored = chat.answer(message_id, body)
    except MessageGone as gone:
        log.info("answer not stored: %s", gone)
        redis.delete(key)
        return "skipped", None
    except ChatUnavailable as exc:
        log.warning("chat did not take the answer (%s); will retry without calling the model", exc)
        metrics.RETRIES.labels("callback", provider).inc()
        redis.set(key, json.dumps(body), ex=24 * 3600)
        return "callback_failed", body
    redis.delete(key)
    metrics.ANSWERS.labels(str(stored["status"])).inc()
    return str(stored["status"]), None
