"""Queue depth and oldest-job age for Celery queues, read at scrape time (autoscaling inputs).

Jobs carry an `enqueued_at` header (see `enqueue_headers`). With a Redis broker the queue is a
list (new jobs pushed on the left, taken from the right), so the oldest job is the last element.
With RabbitMQ only the depth is known without consuming; the age is then not exported.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable

from kombu import Connection
from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from redis import Redis

from kit.redis_clients import sync_redis


def enqueue_headers() -> dict[str, float]:
    return {"enqueued_at": time.time()}


class QueueCollector(Collector):
    """One per process (see `watch_queues`): reports the queues of the broker it watches."""

    def __init__(self) -> None:
        self.broker_url = ""
        self.queues: list[str] = []
        self.redis: Redis | None = None

    def watch(self, broker_url: str, queues: Iterable[str]) -> None:
        self.broker_url = broker_url
        self.queues = list(queues)
        self.redis = (
            sync_redis(broker_url, socket_timeout=2) if broker_url.startswith("redis") else None
        )

    def _redis_queue(self, name: str) -> tuple[int, float | None]:
        assert self.redis is not None
        depth = int(self.redis.llen(name))
        oldest = self.redis.lindex(name, -1) if depth else None
        if oldest is None:
            return depth, 0.0 if depth == 0 else None
        try:
            enqueued = float(json.loads(oldest)["headers"]["enqueued_at"])
        except (ValueError, KeyError, TypeError):
            return depth, None
        return depth, max(0.0, time.time() - enqueued)

    def _amqp_queue(self, name: str) -> tuple[int, float | None]:
        with Connection(self.broker_url, connect_timeout=2) as conn:
            _, depth, _ = conn.default_channel.queue_declare(name, passive=True)
        return int(depth), None

    def collect(self) -> Iterable[GaugeMetricFamily]:
        depth = GaugeMetricFamily(
            "parley_llm_queue_depth", "Jobs waiting in a queue.", labels=["queue"]
        )
        age = GaugeMetricFamily(
            "parley_llm_queue_oldest_age_seconds",
            "Age of the oldest waiting job.",
            labels=["queue"],
        )
        for name in self.queues:
            try:
                count, oldest = self._redis_queue(name) if self.redis else self._amqp_queue(name)
            except Exception:  # a scrape must not fail because the broker is briefly away
                continue
            depth.add_metric([name], count)
            if oldest is not None:
                age.add_metric([name], oldest)
        yield depth
        yield age


_COLLECTOR: QueueCollector | None = None


def watch_queues(broker_url: str, queues: Iterable[str]) -> None:
    """Export depth and oldest age of `queues` on `broker_url` from this process's /metrics."""
    global _COLLECTOR
    if _COLLECTOR is None:
        _COLLECTOR = QueueCollector()
        REGISTRY.register(_COLLECTOR)
    _COLLECTOR.watch(broker_url, queues)
