"""The Celery consumer both workers run (`worker_consumer` in their app settings).

Celery 5.7 with kombu's Redis transport crashes a worker whose broker connection drops while it
holds unacknowledged jobs (our jobs are acknowledged late, so a busy worker always does): closing
the dead connection restores those jobs through the connection it has just cleared, which raises
`AttributeError: 'NoneType' object has no attribute 'hostname'` past Celery's error handling,
and the consumer stops for good ("Unrecoverable error") while the process lives on. Under
`parley up` the process was restarted; a worker started by hand or under a plain supervisor was
left dead.

This consumer lets that cleanup fail quietly and reconnects as for any connection loss. Nothing
is lost by skipping the restore: the jobs stay in the broker's unacknowledged set and come back
with the visibility timeout (and the answers under way finish and report on their own).
"""

from __future__ import annotations

import logging

from celery.worker.consumer import Consumer as CeleryConsumer

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
