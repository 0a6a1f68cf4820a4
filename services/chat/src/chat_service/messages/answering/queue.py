"""Handing answer generation to the llm-worker pool (the contract: `kit.answer_jobs`).

Chat never imports the worker: it sends the task by name. Sending blocks on the
broker, so it runs in a thread with a short, bounded retry: when the broker is down the caller
gets an error quickly and can answer 503 instead of hanging.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from celery import Celery

from kit import answer_jobs
from kit.logging import request_id_var
from kit.queue_metrics import enqueue_headers

log = logging.getLogger(__name__)


class JobQueue:
    def __init__(
        self, broker_url: str, *, visibility_timeout: int, queues: list[str] | None = None
    ) -> None:
        self.queues = queues or [answer_jobs.QUEUE]  # every provider's (`kit.providers`)
        self.celery = Celery("chat", broker=broker_url)
        self.celery.conf.update(
            broker_transport_options={"visibility_timeout": visibility_timeout},
            task_create_missing_queues=True,
            broker_connection_retry_on_startup=False,
            task_serializer="json",
        )

    def _send(self, queue: str, kwargs: dict[str, Any]) -> None:
        self.celery.send_task(
            answer_jobs.TASK,
            kwargs=kwargs,
            # what Celery logs and shows for the job: its id, never the conversation (and no
            # repr of the whole prompt on every send)
            argsrepr="()",
            kwargsrepr=f"{{'message_id': '{kwargs['message_id']}'}}",
            queue=queue,
            headers=enqueue_headers(),
            retry=True,
            retry_policy={
                "max_retries": 2,
                "interval_start": 0,
                "interval_step": 0.2,
                "interval_max": 0.5,
            },
        )

    async def enqueue_answer(self, job: answer_jobs.Job) -> None:
        await asyncio.to_thread(self._send, job.queue, job.kwargs(request_id_var.get()))

    async def warm_up(self) -> None:
        """Do the one-time set-up of sending (Celery's lazy imports, the producer pool, the
        queue's declaration) at start-up, so the first message posted does not wait for it
        (100-200 ms). A broker that is down now only means the first send does it."""
        try:
            await asyncio.to_thread(self._set_up_sending)
        except Exception as exc:
            log.info("could not prepare sending answer jobs yet: %s", exc)

    def _set_up_sending(self) -> None:
        # sending asks for the result backend and an event dispatcher, both imported lazily
        self.celery.backend  # noqa: B018
        self.celery.events.Dispatcher  # noqa: B018
        with self.celery.producer_or_acquire() as producer:
            for queue in self.queues:
                producer.maybe_declare(self.celery.amqp.queues[queue])

    def ping(self) -> None:
        with self.celery.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1)
