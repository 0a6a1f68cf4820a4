"""Handing answer generation to the llm-worker pool (Celery task `llm.generate_answer`).

Chat never imports the worker: it sends the task by name to queue `llm`. Sending blocks on the
broker, so it runs in a thread with a short, bounded retry: when the broker is down the caller
gets an error quickly and can answer 503 instead of hanging.
"""

from __future__ import annotations

import asyncio
from typing import Any

from celery import Celery

from kit.logging import request_id_var
from kit.queue_metrics import enqueue_headers

TASK = "llm.generate_answer"
QUEUE = "llm"


class JobQueue:
    def __init__(self, broker_url: str, *, visibility_timeout: int) -> None:
        self.celery = Celery("chat", broker=broker_url)
        self.celery.conf.update(
            broker_transport_options={"visibility_timeout": visibility_timeout},
            task_create_missing_queues=True,
            broker_connection_retry_on_startup=False,
            task_serializer="json",
        )

    def _send(self, payload: dict[str, Any]) -> None:
        self.celery.send_task(
            TASK,
            kwargs=payload,
            queue=QUEUE,
            headers=enqueue_headers(),
            retry=True,
            retry_policy={
                "max_retries": 2,
                "interval_start": 0,
                "interval_step": 0.2,
                "interval_max": 0.5,
            },
        )

    async def enqueue_answer(self, payload: dict[str, Any]) -> None:
        payload = {**payload, "request_id": request_id_var.get()}
        await asyncio.to_thread(self._send, payload)

    def ping(self) -> None:
        with self.celery.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1)
