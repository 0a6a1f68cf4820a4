"""What Parley's two Celery workers (the llm-worker and the chat-worker) share.

`worker_app` gives a Celery app the settings both need: late acknowledgement (a job whose worker
dies is handed out again), one prefetched job per slot, JSON only, no result backend, kombu's
Redis transport options (`kit.events.redis_consumer_options`) and the consumer below.
`serve_health` wires the process's life to its health endpoint: logging configured as the
services do it, `/healthz` `/readyz` `/metrics` served once the worker is ready, and `/readyz`
answering 503 ("draining") from SIGTERM on, while the jobs under way finish.

Run either with a threads pool (`-P threads`): the work is I/O-bound, and a forking pool would
hide its children's metrics (the worker warns when started with one).

The consumer: Celery 5.7 with kombu's Redis transport crashes a worker whose broker connection
drops while it holds unacknowledged jobs (our jobs are acknowledged late, so a busy worker always
does): closing the dead connection restores those jobs through the connection it has just
cleared, which raises `AttributeError: 'NoneType' object has no attribute 'hostname'` past
Celery's error handling, and the consumer stops for good ("Unrecoverable error") while the
process lives on. This consumer lets that cleanup fail quietly and reconnects as for any
connection loss. Nothing is lost by skipping the restore: the jobs stay in the broker's
unacknowledged set and come back with the visibility timeout.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from celery import Celery, signals
from celery.worker.consumer import Consumer as CeleryConsumer
from kombu import Exchange, Queue

from kit.events import redis_consumer_options
from kit.health import SyncCheck, broker_check, serve_health_in_thread, warn_if_forking_pool
from kit.logging import configure_logging

log = logging.getLogger(__name__)


class Consumer(CeleryConsumer):  # type: ignore[misc]
    def on_connection_error_after_connected(self, exc: Exception) -> None:
        try:
            super().on_connection_error_after_connected(exc)
        except AttributeError:
            log.warning(
                "broker connection lost (%r); its held jobs come back with the visibility "
                "timeout; reconnecting",
                exc,
            )
            self.connection = None


CONSUMER = f"{__name__}:Consumer"


def worker_app(
    name: str,
    broker_url: str,
    *,
    queues: list[str],
    visibility_timeout: int,
    include: tuple[str, ...] = (),
) -> Celery:
    """A worker app taking `queues` (a `-Q` on the command line would override them)."""
    app = Celery(name, broker=broker_url, include=list(include))
    app.conf.update(
        task_queues=[Queue(q, Exchange(q), routing_key=q) for q in queues],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=queues[0],
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        # A task's retry is published while the broker may be restarting: wait up to ~30 s for
        # it. Celery turns a retry it cannot publish into a reject of the running job, and
        # kombu's Redis transport cannot reject on a channel of a connection it has replaced
        # meanwhile: the consumer died of it ("Unrecoverable error") after a Redis restart.
        task_publish_retry_policy={
            "max_retries": 20,
            "interval_start": 0.2,
            "interval_step": 0.5,
            "interval_max": 2.0,
        },
        # Redis broker: a job whose worker died is handed out again after the visibility timeout
        broker_transport_options=redis_consumer_options(visibility_timeout),
        worker_consumer=CONSUMER,
    )
    return app


def serve_health(
    service: str,
    log_level: str,
    *,
    broker_url: str,
    host: str,
    port: int,
    checks: Callable[[], dict[str, SyncCheck]],
    on_ready: Callable[[], None] = lambda: None,
    on_stop: Callable[[], None] = lambda: None,
) -> threading.Event:
    """Connect the worker's signals: logging, then (once ready) `on_ready` and the health
    endpoint with `checks()` and the broker's; on SIGTERM `on_stop` and "draining". Returns the
    draining event."""
    draining = threading.Event()

    def _logging(**_: Any) -> None:
        configure_logging(service, log_level)

    def _ready(sender: Any = None, **_: Any) -> None:
        on_ready()  # ready means able to work at full speed
        warn_if_forking_pool(sender)
        serve_health_in_thread(
            host, port, {**checks(), "broker": broker_check(broker_url)}, draining=draining
        )

    def _drain(**_: Any) -> None:
        draining.set()
        on_stop()

    signals.setup_logging.connect(_logging, weak=False)
    signals.worker_ready.connect(_ready, weak=False)
    signals.worker_shutting_down.connect(_drain, weak=False)
    return draining
