"""Calls from the worker to chat's internal API, retried until chat has answered.

A 404 (or `unknown` from `start`) right after a message was posted is expected (chat queues the
job just before its commit lands, and a busy database can delay that), so it is retried like a
connection error, within a time budget; 409 (`ended`, `superseded`) means the message ended or
was superseded, and the caller stops.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, InvalidStateError, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx

from kit import answer_jobs
from kit.answer_jobs import StartIn, StartItem
from kit.logging import REQUEST_ID_HEADER, request_id_var

log = logging.getLogger(__name__)


UNKNOWN_PAUSE_SECONDS = 0.1


class MessageGone(Exception):
    """The message ended, was superseded by a newer generation, or never committed."""


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
        self._starter = ThreadPoolExecutor(1, thread_name_prefix="chat-start")
        self._pending_lock = threading.Lock()
        self._pending_starts: list[_Start] = []
        self._sending_starts = False

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

    def _starts(self, wanted: dict[uuid.UUID, int]) -> dict[uuid.UUID, str]:
        body = StartIn(messages=[StartItem(id=m, generation=g) for m, g in wanted.items()])
        outcomes = self._post(answer_jobs.START_PATH, body.model_dump(mode="json"))["messages"]
        return {uuid.UUID(m): outcome for m, outcome in outcomes.items()}

    def start(self, message_id: uuid.UUID, generation: int) -> None:
        """Tell chat the answer is being generated, waiting for a message not committed yet;
        MessageGone if it ended, was superseded, or never committed (within the budget)."""
        pauses = self._pauses()
        while (outcome := self._starts({message_id: generation})[message_id]) == "unknown":
            if (pause := next(pauses, None)) is None:
                break
            time.sleep(pause)
        if outcome != "generating":
            raise MessageGone(outcome)

    def start_in_background(self, message_id: uuid.UUID, generation: int) -> Future[None]:
        """Tell chat "generating" from another thread; the future fails with MessageGone if the
        message ended. Cancel the future once the answer has ended: its own callback then
        settles the message, and the announcement is no longer wanted.

        A message chat does not know yet (its commit has not landed: under a burst that can take
        longer than the answer's first moment) is asked about again every `UNKNOWN_PAUSE_SECONDS`,
        so pollers see `generating` once it has landed, until the future is cancelled or the
        budget is spent. The calls made while one is on its way go together in the next: under
        a burst, one request for a hundred answers instead of a hundred requests.
        """
        future: Future[None] = Future()
        start = _Start(message_id, generation, future, time.monotonic() + self.budget)
        with self._pending_lock:
            self._pending_starts.append(start)
            if self._sending_starts:
                return future
            self._sending_starts = True
        self._starter.submit(self._send_starts)
        return future

    def _send_starts(self) -> None:
        while True:
            with self._pending_lock:
                batch = [s for s in self._pending_starts if not s.future.cancelled()]
                self._pending_starts = []
                if not batch:
                    self._sending_starts = False
                    return
            try:
                outcomes = self._starts({s.message_id: s.generation for s in batch})
            except Exception as exc:  # chat unreachable within the budget
                for s in batch:
                    _settle(s.future, exc)
                continue
            unknown = []
            for s in batch:
                # (a missing answer must not end this thread: later batches depend on it)
                outcome = outcomes.get(s.message_id, "unknown")
                if outcome == "generating":
                    _settle(s.future)
                elif outcome != "unknown":
                    _settle(s.future, MessageGone(outcome))
                elif time.monotonic() < s.deadline:
                    unknown.append(s)
                else:  # never committed, as far as chat can tell: the answer's callback will say
                    _settle(s.future)
            if unknown:
                time.sleep(UNKNOWN_PAUSE_SECONDS)
                with self._pending_lock:
                    self._pending_starts[:0] = unknown

    def answer(self, message_id: uuid.UUID, body: dict[str, Any]) -> dict[str, Any]:
        return self._post(answer_jobs.answer_path(message_id), body)


@dataclass
class _Start:
    """A "generating" announcement waiting to be sent (or sent again)."""

    message_id: uuid.UUID
    generation: int
    future: Future[None]
    deadline: float


def _settle(future: Future[None], error: BaseException | None = None) -> None:
    """Resolve an announcement's future, unless its answer ended and cancelled it meanwhile."""
    try:
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)
    except InvalidStateError:
        pass
