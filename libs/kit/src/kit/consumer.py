"""Consuming events from the broker into asyncio handlers, acknowledged only after success.

kombu is synchronous, so the consumer drains the broker in a thread and hands each event to the
service's event loop, up to `concurrency` at a time. Only that thread touches the broker
connection. It acknowledges an event once its handler has finished; puts it back on the queue
(after a pause) when the handler raised, or at once when it raised `Requeue`; and moves it to the
consumer's dead-letter queue (`<queue>.dead`, see `kit.events.dead_letter_queue`) when it raised
`DeadLetter`, acknowledging the original only after the broker took the copy. So a crash or a
failing handler never loses an event: an unacknowledged message goes back to the queue when the
connection closes, or, with a Redis broker, once `visibility_timeout` passes after a process died.

`stop()` is graceful: it stops taking new events, gives the handlers in flight time to finish,
and puts back whatever is still unfinished.

`browse_dead_letters` and `replay_dead_letters` let an operator list the dead-letter queue and
send chosen events back to their consumer.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import logging
import queue
import threading
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from kombu.connection import Connection
from kombu.message import Message
from kombu.messaging import Consumer, Producer
from pydantic import ValidationError

from kit import events

log = logging.getLogger(__name__)
Handler = Callable[[events.Event], Awaitable[None]]

DEAD_LETTER_HEADERS = (
    "x-dead-letter-reason",
    "x-dead-letter-detail",
    "x-dead-lettered-at",
    "x-original-queue",
)


class Requeue(Exception):
    """Raised by a handler to put its event back on the queue now, e.g. while shutting down."""


class DeadLetter(Exception):
    """Raised by a handler that gave up on an event: it moves to the consumer's dead-letter queue.

    `reason` is a short stable code (`retries_exhausted`, `permanent_failure`, ...); `detail` is
    free text for the operator. Both travel as message headers.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class _Outcome:
    action: Literal["ack", "requeue", "dead"]
    reason: str = ""
    detail: str = ""


@dataclass(eq=False)
class _Delivery:
    key: int
    message: Message
    generation: int
    future: concurrent.futures.Future[_Outcome] = field(repr=False)
    event_id: str = ""


class EventConsumer:
    """Feeds the events of one queue to an async handler; see the module docstring."""

    def __init__(
        self,
        broker_url: str,
        queue_name: str,
        handler: Handler,
        loop: asyncio.AbstractEventLoop,
        *,
        retry_pause_seconds: float = 1.0,
        concurrency: int = 1,
        transport_options: dict[str, Any] | None = None,
    ) -> None:
        self.broker_url = broker_url
        self.queue_name = queue_name
        self.handler = handler
        self.loop = loop
        self.retry_pause = retry_pause_seconds
        self.concurrency = max(1, concurrency)
        # with a Redis broker, kombu's visibility timeout unless told, and its sweep's lock kept
        # short (see `events.redis_consumer_options`)
        defaults = (
            events.redis_consumer_options(events.KOMBU_VISIBILITY_SECONDS)
            if broker_url.startswith(("redis:", "rediss:"))
            else {}
        )
        self.transport_options = {**defaults, **(transport_options or {})}
        self._stop = threading.Event()
        self._grace = 5.0
        self._thread: threading.Thread | None = None
        self._completed: queue.SimpleQueue[_Delivery] = queue.SimpleQueue()
        self._inflight: dict[int, _Delivery] = {}
        self._keys = itertools.count()
        self._generation = 0
        self._producer: Producer | None = None
        self.connected = threading.Event()

    @property
    def inflight(self) -> int:
        """Events handed to the handler and not yet settled with the broker."""
        return len(self._inflight)

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name=f"consume-{self.queue_name}", daemon=True
        )
        self._thread.start()

    def request_stop(self, timeout: float | None = None) -> None:
        """Stop taking events now, without waiting; `stop()` or `aclose()` then finish the job.

        Call it before telling the handlers to wind down, so an event they give back is not
        handed straight out again.
        """
        if timeout is not None:
            self._grace = timeout
        self._stop.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop taking events, give in-flight handlers up to `timeout` s to finish, then return.

        Handlers still running after that are cancelled and their events go back on the queue.
        From a coroutine on the handlers' own loop, await `aclose()` instead: blocking that loop
        here would keep the in-flight handlers from finishing.
        """
        self._grace = 0.0 if self._on_loop_thread() else timeout
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self._grace + 10)

    async def aclose(self, timeout: float = 5.0) -> None:
        """`stop()` without blocking the event loop the handlers run on."""
        await asyncio.to_thread(self.stop, timeout)

    def _on_loop_thread(self) -> bool:
        try:
            return asyncio.get_running_loop() is self.loop
        except RuntimeError:
            return False

    # -- on the event loop ------------------------------------------------------------------

    async def _handle(self, event: events.Event) -> _Outcome:
        extra = {"event_id": str(event.id), "event_type": event.type}
        try:
            await self.handler(event)
        except Requeue:
            return _Outcome("requeue")
        except DeadLetter as exc:
            log.warning("event moved to the dead-letter queue: %s", exc.reason, extra=extra)
            return _Outcome("dead", exc.reason, exc.detail)
        except Exception:
            log.exception("handling an event failed; it goes back on the queue", extra=extra)
            await asyncio.sleep(self.retry_pause)
            return _Outcome("requeue")
        return _Outcome("ack")

    # -- on the consumer thread -------------------------------------------------------------

    def _on_message(self, body: Any, message: Message) -> None:
        if self._stop.is_set():
            message.requeue()
            return
        try:
            event = events.Event.model_validate(body)
        except ValidationError as exc:
            log.error("a malformed event from %s goes to the dead-letter queue", self.queue_name)
            self._dead_letter(message, "malformed", str(exc))
            return
        future = asyncio.run_coroutine_threadsafe(self._handle(event), self.loop)
        delivery = _Delivery(next(self._keys), message, self._generation, future, str(event.id))
        self._inflight[delivery.key] = delivery
        future.add_done_callback(lambda _f: self._completed.put(delivery))

    def _on_decode_error(self, message: Message, exc: Exception) -> None:
        log.error("an undecodable message from %s goes to the dead-letter queue", self.queue_name)
        self._dead_letter(message, "undecodable", str(exc))

    def _dead_letter(self, message: Message, reason: str, detail: str) -> None:
        assert self._producer is not None
        dead = events.dead_letter_queue(self.queue_name)
        headers = {
            key: value
            for key, value in (message.headers or {}).items()
            if key not in DEAD_LETTER_HEADERS and key != "redelivered"
        }
        headers.update(
            {
                "x-dead-letter-reason": reason,
                "x-dead-letter-detail": detail[:1000],
                "x-dead-lettered-at": datetime.now(UTC).isoformat(),
                "x-original-queue": self.queue_name,
            }
        )
        # the copy is confirmed by the broker before the original is acknowledged
        self._producer.publish(
            message.body,
            exchange="",
            routing_key=dead.name,
            declare=[dead],
            headers=headers,
            delivery_mode=2,
            content_type=message.content_type,
            content_encoding=message.content_encoding,
            message_id=message.properties.get("message_id"),
            retry=False,
        )
        message.ack()

    def _settle(self, delivery: _Delivery) -> None:
        self._inflight.pop(delivery.key, None)
        if delivery.generation != self._generation:
            # its connection is gone; the broker hands the event out again
            return
        future = delivery.future
        outcome = _Outcome("requeue") if future.cancelled() else future.result()
        if outcome.action == "ack":
            delivery.message.ack()
        elif outcome.action == "dead":
            self._dead_letter(delivery.message, outcome.reason, outcome.detail)
        else:
            delivery.message.requeue()

    def _settle_completed(self, wait: float = 0.0) -> None:
        try:
            delivery = (
                self._completed.get(timeout=wait) if wait > 0 else self._completed.get_nowait()
            )
        except queue.Empty:
            return
        while True:
            self._settle(delivery)
            try:
                delivery = self._completed.get_nowait()
            except queue.Empty:
                return

    def _window_full(self) -> bool:
        """Whether the broker has handed out all `concurrency` events it may on this connection."""
        current = sum(1 for d in self._inflight.values() if d.generation == self._generation)
        return current >= self.concurrency

    def _finish_inflight(self) -> None:
        """After the consumer is cancelled: let handlers finish within the grace period."""
        started = time.monotonic()
        # `_grace` is read on each turn: `stop()` may set it just after the stop was requested
        while self._inflight and (left := started + self._grace - time.monotonic()) > 0:
            self._settle_completed(wait=min(left, 0.1))
        for delivery in list(self._inflight.values()):
            delivery.future.cancel()
            if delivery.generation == self._generation:
                log.warning(
                    "handler still running at shutdown; its event goes back on the queue",
                    extra={"event_id": delivery.event_id},
                )
                delivery.message.requeue()
        self._inflight.clear()

    def _connect(self) -> Connection:
        conn = events.connect(self.broker_url)
        conn.transport_options = {**(conn.transport_options or {}), **self.transport_options}
        return conn

    def _run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            try:
                with self._connect() as conn:
                    conn.ensure_connection(max_retries=1)
                    events.declare_topology(conn)
                    self._generation += 1
                    self._producer = conn.Producer(serializer="json")
                    with Consumer(
                        conn,
                        queues=[events.queue(self.queue_name)],
                        callbacks=[self._on_message],
                        on_decode_error=self._on_decode_error,
                        accept=["json"],
                        prefetch_count=self.concurrency,
                    ) as consumer:
                        self.connected.set()
                        backoff = 0.5
                        while not self._stop.is_set():
                            self._settle_completed()
                            if self._window_full():
                                # nothing new can arrive before an event is settled: wait for one
                                self._settle_completed(wait=0.5)
                                continue
                            try:
                                # short polls while handlers run, so their acks go out promptly
                                conn.drain_events(timeout=0.02 if self._inflight else 0.5)
                            except TimeoutError:
                                continue
                        consumer.cancel()
                        self._finish_inflight()
            except Exception as exc:
                self.connected.clear()
                if self._stop.is_set():
                    break
                log.warning("broker connection lost (%s); reconnecting in %.1fs", exc, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)
        self.connected.clear()
        for delivery in self._inflight.values():
            delivery.future.cancel()
        self._inflight.clear()


# -- dead letters: operator tools -----------------------------------------------------------


@dataclass(frozen=True)
class DeadLetterRecord:
    """One message in a dead-letter queue, as `browse_dead_letters` reports it."""

    event_id: str
    reason: str
    detail: str
    dead_lettered_at: str
    body: dict[str, Any] | None
    headers: dict[str, Any]


def _record(message: Message) -> DeadLetterRecord:
    headers = dict(message.headers or {})
    body: dict[str, Any] | None
    try:
        decoded = message.decode()
        body = decoded if isinstance(decoded, dict) else None
    except Exception:
        body = None
    event_id = str((body or {}).get("id") or message.properties.get("message_id") or "")
    return DeadLetterRecord(
        event_id=event_id,
        reason=str(headers.get("x-dead-letter-reason", "")),
        detail=str(headers.get("x-dead-letter-detail", "")),
        dead_lettered_at=str(headers.get("x-dead-lettered-at", "")),
        body=body,
        headers=headers,
    )


def _take_all(conn: Connection, queue_name: str) -> list[Message]:
    """Every message of the dead-letter queue, taken unacknowledged (nobody else consumes it)."""
    dead = events.dead_letter_queue(queue_name)(conn.default_channel)
    dead.declare()
    taken: list[Message] = []
    while (message := dead.get(no_ack=False, accept=["json"])) is not None:
        taken.append(message)
    return taken


def browse_dead_letters(broker_url: str, queue_name: str) -> list[DeadLetterRecord]:
    """The dead letters of consumer `queue_name`, oldest first; the queue is left as it was."""
    with events.connect(broker_url) as conn:
        conn.ensure_connection(max_retries=1)
        taken = _take_all(conn, queue_name)
        records = [_record(message) for message in taken]
        for message in taken:
            message.requeue()
    return records


def replay_dead_letters(
    broker_url: str, queue_name: str, event_ids: Collection[str] | None = None
) -> int:
    """Send dead letters back to consumer `queue_name` (all of them when `event_ids` is None).

    Each goes to that consumer's queue only (not to the exchange, so other consumers of the
    same event are not bothered again) and leaves the dead-letter queue once the broker took it.
    Returns how many were replayed.
    """
    wanted = None if event_ids is None else {str(event_id) for event_id in event_ids}
    replayed = 0
    with events.connect(broker_url) as conn:
        conn.ensure_connection(max_retries=1)
        events.declare_topology(conn)
        producer = conn.Producer(serializer="json")
        target = events.queue(queue_name)
        taken = _take_all(conn, queue_name)
        try:
            for message in taken:
                record = _record(message)
                if wanted is not None and record.event_id not in wanted:
                    message.requeue()
                    continue
                headers = {k: v for k, v in record.headers.items() if k not in DEAD_LETTER_HEADERS}
                headers.pop("redelivered", None)
                headers["x-replayed-at"] = datetime.now(UTC).isoformat()
                producer.publish(
                    message.body,
                    exchange="",
                    routing_key=target.name,
                    headers=headers,
                    delivery_mode=2,
                    content_type=message.content_type,
                    content_encoding=message.content_encoding,
                    message_id=message.properties.get("message_id"),
                    retry=False,
                )
                message.ack()
                replayed += 1
        finally:
            for message in taken:
                if not message.acknowledged:
                    message.requeue()
    return replayed
