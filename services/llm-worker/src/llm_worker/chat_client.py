"""The worker's one call to chat's internal API (the answer's outcome), retried until chat has
answered.

A 404 right after a message was posted is expected (chat queues the job just before its commit
lands, and a busy database can delay that; a quick answer can end first), so it is retried like
a connection error, within a time budget; 409 means the message's generation was superseded,
and the caller stops.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx

from kit import answer_jobs
from kit.logging import REQUEST_ID_HEADER, request_id_var

log = logging.getLogger(__name__)


class MessageGone(Exception):
    """The message was superseded by a newer generation, or never committed."""


class ChatUnavailable(Exception):
    """Chat did not answer within the retry budget."""


class ChatClient:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        budget_seconds: float = 60.0,
        timeout: float = 10.0,
        connections: int = 16,
    ) -> None:
        # A small pool on purpose: chat answers these short calls one after another anyway, and
        # httpcore scans every pooled connection on each request and response (with a pool
        # sized for hundreds of generations that scan was a third of the worker's CPU).
        self.http = httpx.Client(
            base_url=base_url,
            timeout=httpx.Timeout(timeout, pool=budget_seconds),
            headers={"Authorization": f"Bearer {token}"},
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        )
        self.budget = budget_seconds

    def _pauses(self) -> Iterator[float]:
        """The pauses between tries, until the budget is spent: from 10 ms (a message whose
        commit has not landed yet is there within milliseconds), doubling up to 5 s, jittered."""
        delay = 0.01
        deadline = time.monotonic() + self.budget
        while (pause := delay * (1 + random.random())) + time.monotonic() < deadline:
            yield pause
            delay = min(delay * 2, 5.0)

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        pauses = self._pauses()
        attempt = 0
        while True:
            attempt += 1
            headers = {REQUEST_ID_HEADER: rid} if (rid := request_id_var.get()) else {}
            try:
                response = self.http.post(path, json=body, headers=headers)
            except httpx.TransportError as exc:
                problem = f"chat unreachable: {exc}"
            else:
                if response.status_code == 409:
                    raise MessageGone(response.json().get("code", "conflict"))
                if response.is_success:
                    result: dict[str, Any] = response.json()
                    return result
                problem = f"chat answered {response.status_code}"
            if (pause := next(pauses, None)) is None:
                if "404" in problem:
                    raise MessageGone("not_found")
                raise ChatUnavailable(problem)
            log.warning("%s; retrying %s (attempt %d)", problem, path, attempt)
            time.sleep(pause)

    def answer(self, message_id: uuid.UUID, body: dict[str, Any]) -> dict[str, Any]:
        return self._post(answer_jobs.answer_path(message_id), body)
