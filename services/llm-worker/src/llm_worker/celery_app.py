"""The llm-worker Celery application: queue `llm`, late acks, one prefetched job per slot.

Run it with a threads pool (`celery -A llm_worker.celery_app worker -Q llm -P threads -c 200`):
generation is I/O-bound, so one process holds hundreds of concurrent answers. The metrics live
in this one process and are served over HTTP (`LLM_WORKER_METRICS_HOST/PORT`: `/metrics`,
`/healthz`, `/readyz`); a forking pool (prefork) would hide its children's metrics, so the worker
warns when started with one.

On SIGTERM Celery shuts down warmly: it stops taking jobs, `/readyz` answers 503 ("draining"),
answers being generated run to the end and are acknowledged, and jobs prefetched but not started
go back to the queue unacknowledged (late acks), so another worker takes them.
"""

from __future__ import annotations

import threading
from typing import Any

from celery import Celery, signals

from kit import worker_consumer
from kit.events import redis_consumer_options
from kit.health import broker_check, serve_health_in_thread, warn_if_forking_pool
from kit.logging import configure_logging
from llm_worker.config import settings

draining = threading.Event()

app = Celery("llm_worker", broker=settings.broker_url, include=["llm_worker.tasks"])
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_default_queue="llm",
    task_serializer="json",
    accept_content=["json"],
    # Redis broker: a job whose worker died is handed out again after the visibility timeout
    broker_transport_options=redis_consumer_options(settings.task_visibility_timeout),
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    task_ignore_result=True,
    # survives a broker connection dropped while jobs are held (see kit.worker_consumer)
    worker_consumer=worker_consumer.CONSUMER,
)


@signals.setup_logging.connect
def _logging(**_: Any) -> None:
    configure_logging("llm-worker", settings.log_level)


@signals.worker_ready.connect
def _serve_health(sender: Any = None, **_: Any) -> None:
    from llm_worker.tasks import readiness_checks, warm_up

    warm_up()  # ready means able to answer at full speed
    warn_if_forking_pool(sender)
    checks = {**readiness_checks(), "broker": broker_check(settings.broker_url)}
    serve_health_in_thread(settings.metrics_host, settings.metrics_port, checks, draining=draining)


@signals.worker_shutting_down.connect
def _drain(**_: Any) -> None:
    draining.set()
