"""Consuming events from the broker into asyncio handlers, acknowledged only after success.

kombu is synchronous, so the consumer drains the broker in a thread and hands each event to the
service's event loop; the message is acknowledged once the handler has finished, and put back on
the queue (after a pause) when it raised, so a crash or a failing handler never loses an event.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from kombu import Consumer
from kombu.message import Message
from pydantic import ValidationError

from kit import events

log = logging.getLogger(__name__)
Handler = Callable[[events.Event], Awaitable[None]]


class EventConsumer:
    def __init__(
        self,
        broker_url: str,
        queue_name: str,
        handler: Handler,
        loop: asyncio.AbstractEventLoop,
        *,
        retry_pause_seconds: float = 1.0,
    ) -> None:
        self.broker_url = broker_url
        self.queue_name = queue_name
        self.handler = handler
        self.loop = loop
        self.retry_pause = retry_pause_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.connected = threading.Event()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"consume-{self.queue_name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _on_message(self, body: Any, message: Message) -> None:
        try:
            event = events.Event.model_validate(body)
        except ValidationError:
            log.error("dropping a malformed event from %s", self.queue_name)
            message.reject(requeue=False)
            return
        future = asyncio.run_coroutine_threadsafe(self.handler(event), self.loop)
        try:
            future.result()
        except Exception:
            log.exception(
                "handling an event failed; it goes back on the queue",
                extra={"event_id": str(event.id), "event_type": event.type},
            )
            self._stop.wait(self.retry_pause)
            message.requeue()
            return
        message.ack()

    def _run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            try:
                with events.connect(self.broker_url) as conn:
                    conn.ensure_connection(max_retries=1)
                    events.declare_topology(conn)
                    with Consumer(
                        conn,
                        queues=[events.queue(self.queue_name)],
                        callbacks=[self._on_message],
                        accept=["json"],
                        prefetch_count=1,
                    ):
                        self.connected.set()
                        backoff = 0.5
                        while not self._stop.is_set():
                            try:
                                conn.drain_events(timeout=1)
                            except (TimeoutError, socket.timeout):
                                continue
            except Exception as exc:
                self.connected.clear()
                if self._stop.is_set():
                    break
                log.warning("broker connection lost (%s); reconnecting in %.1fs", exc, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)
        self.connected.clear()
