"""The llm-worker Celery application: queue `llm`, late acks, one prefetched job per slot.

Run it with a threads pool (`celery -A llm_worker.celery_app worker -Q llm -P threads -c 200`):
generation is I/O-bound, so one process holds hundreds of concurrent answers.
"""

from __future__ import annotations

from typing import Any

from celery import Celery, signals

from kit.health import serve_health_in_thread
from kit.logging import configure_logging
from llm_worker.config import settings

app = Celery("llm_worker", broker=settings.broker_url, include=["llm_worker.tasks"])
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_default_queue="llm",
    task_serializer="json",
    accept_content=["json"],
    # Redis broker: a job whose worker died is handed out again after the visibility timeout;
    # sweep for such jobs often enough for that timeout to be what decides.
    broker_transport_options={
        "visibility_timeout": settings.task_visibility_timeout,
        "unacked_restore_interval": max(1, min(10, settings.task_visibility_timeout // 3)),
        "unacked_restore_throttle": 1,
    },
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    task_ignore_result=True,
)


@signals.setup_logging.connect
def _logging(**_: Any) -> None:
    configure_logging("llm-worker", settings.log_level)


@signals.worker_ready.connect
def _serve_health(**_: Any) -> None:
    from llm_worker.tasks import readiness_checks

    serve_health_in_thread(settings.metrics_host, settings.metrics_port, readiness_checks())
