"""The chat-worker: Celery queue `webhooks`, delivering signed webhooks with retries.

Run it with `celery -A chat_service.webhooks.worker worker -Q webhooks -P threads -c 20`. The
rules of a delivery live in `chat_service.webhooks.delivery`; this module runs them: one task
per attempt, and a scheduler thread that hands due deliveries to the queue.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import create_engine

from chat_service.config import settings
from chat_service.webhooks import WEBHOOK_QUEUE, delivery
from kit.celery_worker import serve_health, worker_app
from kit.db import configure_sqlite, is_sqlite
from kit.events import KOMBU_VISIBILITY_SECONDS
from kit.health import SyncCheck
from kit.queue_metrics import enqueue_headers

log = logging.getLogger(__name__)
SCHEDULER_SECONDS = 0.25

app = worker_app(
    "chat_worker",
    settings.broker_url,
    queues=[WEBHOOK_QUEUE],
    visibility_timeout=KOMBU_VISIBILITY_SECONDS,
)
engine = create_engine(
    settings.sync_database_url,
    pool_pre_ping=True,
    connect_args={"timeout": 30} if is_sqlite(settings.sync_database_url) else {},
)
if is_sqlite(settings.sync_database_url):
    configure_sqlite(engine)


@app.task(name="webhooks.deliver")
def deliver(delivery_id: str, attempt: int) -> str:
    """Make attempt number `attempt` (0-based) of a delivery, unless another copy already did."""
    return delivery.deliver(engine, delivery_id, attempt)


def send(delivery_id: str, attempts: int) -> None:
    deliver.apply_async(
        args=[delivery_id, attempts], queue=WEBHOOK_QUEUE, headers=enqueue_headers()
    )


def run_scheduler(stop: threading.Event) -> None:
    delivery.wait_for_schema(engine, stop)
    while not stop.wait(SCHEDULER_SECONDS):
        try:
            delivery.enqueue_due(engine, send)
        except Exception:
            log.exception("webhook scheduler run failed")


_stop = threading.Event()


def _checks() -> dict[str, SyncCheck]:
    def database() -> None:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")

    return {"database": database}


def _start_scheduler() -> None:
    threading.Thread(
        target=run_scheduler, args=(_stop,), name="webhook-scheduler", daemon=True
    ).start()


# on SIGTERM /readyz says 503 while deliveries under way finish, and the scheduler stops
draining = serve_health(
    "chat-worker",
    settings.log_level,
    broker_url=settings.broker_url,
    host=settings.worker_metrics_host,
    port=settings.worker_metrics_port,
    checks=_checks,
    on_ready=_start_scheduler,
    on_stop=_stop.set,
)
