"""EventConsumer on a real Redis broker: acknowledged after success, requeued after a failure."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from redis import Redis as SyncRedis
from redis.asyncio import Redis

from kit import events
from kit.consumer import EventConsumer, Handler
from kit.dedupe import Deduplicator
from parley_testing.redis_server import RedisServer

MAILER_EVENT = "auth.password_reset_requested"  # routed to the `mailer` queue


def publish(url: str, items: list[events.Event]) -> None:
    with events.connect(url) as conn:
        events.declare_topology(conn)
        for event in items:
            events.publish(conn, event)


def publish_raw(url: str, body: dict[str, Any]) -> None:
    """A JSON body that is not an event envelope, routed like one."""
    with events.connect(url) as conn:
        events.declare_topology(conn)
        producer = conn.Producer(serializer="json")
        producer.publish(body, exchange=events.EXCHANGE, routing_key=MAILER_EVENT)


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_server.url)
    yield client
    await client.aclose()


@pytest.fixture
def start_consumer() -> Iterator[Callable[[str, Handler], EventConsumer]]:
    started: list[EventConsumer] = []

    def start(url: str, handler: Handler) -> EventConsumer:
        consumer = EventConsumer(
            url, "mailer", handler, asyncio.get_running_loop(), retry_pause_seconds=0.1
        )
        consumer.start()
        started.append(consumer)
        return consumer

    yield start
    for consumer in started:
        consumer.stop()


def an_event(n: int) -> events.Event:
    return events.Event(type=MAILER_EVENT, data={"n": n, "email": f"u{n}@example.com"})


async def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout}s")
        await asyncio.sleep(0.02)


async def stop(consumer: EventConsumer) -> None:
    await asyncio.to_thread(consumer.stop)
    assert not consumer.connected.is_set()


def queue_state(url: str) -> tuple[int, int]:
    """(messages waiting on `mailer`, messages delivered but not acknowledged)."""
    client = SyncRedis.from_url(url)
    try:
        return int(client.llen("mailer")), int(client.hlen("unacked"))
    finally:
        client.close()


class TestEventConsumer:
    async def test_published_events_reach_the_handler_and_are_acknowledged(
        self,
        broker_url: str,
        start_consumer: Callable[[str, Handler], EventConsumer],
    ) -> None:
        received: list[events.Event] = []

        async def handler(event: events.Event) -> None:
            received.append(event)

        consumer = start_consumer(broker_url, handler)
        await eventually(consumer.connected.is_set)
        sent = [an_event(n) for n in range(3)]
        await asyncio.to_thread(publish, broker_url, sent)

        await eventually(lambda: len(received) >= 3)
        await stop(consumer)
        assert received == sent  # same ids, types and data, in order
        assert queue_state(broker_url) == (0, 0)

    async def test_events_published_before_the_consumer_starts_are_kept(
        self,
        broker_url: str,
        start_consumer: Callable[[str, Handler], EventConsumer],
    ) -> None:
        sent = [an_event(n) for n in range(3)]
        await asyncio.to_thread(publish, broker_url, sent)
        assert queue_state(broker_url) == (3, 0)
        received: list[uuid.UUID] = []

        async def handler(event: events.Event) -> None:
            received.append(event.id)

        consumer = start_consumer(broker_url, handler)
        await eventually(lambda: len(received) >= 3)
        await stop(consumer)
        assert received == [event.id for event in sent]

    async def test_failed_event_is_redelivered_and_all_handled_exactly_once(
        self,
        broker_url: str,
        redis: Redis,
        start_consumer: Callable[[str, Handler], EventConsumer],
    ) -> None:
        sent = [an_event(n) for n in range(3)]
        flaky_id = sent[1].id
        attempts: Counter[uuid.UUID] = Counter()
        done: list[uuid.UUID] = []
        dedupe = Deduplicator(redis, f"mailer-test-{uuid.uuid4().hex[:8]}")

        async def send_mail(event: events.Event) -> None:
            attempts[event.id] += 1
            if event.id == flaky_id and attempts[event.id] == 1:
                raise RuntimeError("smtp timeout")
            done.append(event.id)

        async def handler(event: events.Event) -> None:
            await dedupe.run_once(event, send_mail)

        consumer = start_consumer(broker_url, handler)
        await eventually(consumer.connected.is_set)
        # the first event arrives twice, as an at-least-once relay may send it
        await asyncio.to_thread(publish, broker_url, [*sent, sent[0]])

        await eventually(lambda: len(done) >= 3 and queue_state(broker_url) == (0, 0))
        await asyncio.sleep(0.3)  # room for a wrong extra delivery to show up
        await stop(consumer)
        assert sorted(done) == sorted(event.id for event in sent)
        assert attempts[flaky_id] == 2
        assert attempts[sent[0].id] == 1  # the duplicate was skipped
        assert queue_state(broker_url) == (0, 0)

    async def test_malformed_message_never_reaches_the_handler_nor_blocks_the_queue(
        self, broker_url: str, start_consumer: Callable[[str, Handler], EventConsumer]
    ) -> None:
        received: list[uuid.UUID] = []

        async def handler(event: events.Event) -> None:
            received.append(event.id)

        consumer = start_consumer(broker_url, handler)
        await eventually(consumer.connected.is_set)
        good = an_event(1)
        await asyncio.to_thread(publish_raw, broker_url, {"hello": "world"})
        await asyncio.to_thread(publish, broker_url, [good])

        await eventually(lambda: len(received) >= 1)
        await asyncio.sleep(0.2)
        await stop(consumer)
        assert received == [good.id]
        assert queue_state(broker_url) == (0, 0)

    async def test_consumer_reconnects_after_the_broker_restarts(
        self, broker: RedisServer, start_consumer: Callable[[str, Handler], EventConsumer]
    ) -> None:
        received: list[uuid.UUID] = []

        async def handler(event: events.Event) -> None:
            received.append(event.id)

        consumer = start_consumer(broker.url, handler)
        await eventually(consumer.connected.is_set)
        broker.stop()
        await eventually(lambda: not consumer.connected.is_set(), timeout=5)
        broker.start()

        event = an_event(1)
        await asyncio.to_thread(publish, broker.url, [event])
        await eventually(lambda: received == [event.id], timeout=10)
        assert consumer.connected.is_set()

    async def test_a_consumer_killed_while_sweeping_holds_up_redelivery_only_briefly(
        self, broker_url: str
    ) -> None:
        # A consumer takes an event, then is SIGKILLed while it holds the lock every consumer of
        # the broker sweeps under (kombu keeps a dead holder's lock for 5 minutes by default).
        # Another consumer still gets the event soon after the visibility timeout.
        visibility = 2
        options = events.redis_consumer_options(visibility)
        event = an_event(1)
        await asyncio.to_thread(publish, broker_url, [event])
        dying = subprocess.run(
            [sys.executable, "-c", DIE_WHILE_SWEEPING, broker_url, json.dumps(options)],
            capture_output=True,
            timeout=30,
        )
        assert dying.returncode == -signal.SIGKILL, dying.stderr.decode()
        assert queue_state(broker_url) == (0, 1)  # taken, never acknowledged
        received: list[uuid.UUID] = []

        async def handler(event: events.Event) -> None:
            received.append(event.id)

        started = time.monotonic()
        consumer = EventConsumer(
            broker_url, "mailer", handler, asyncio.get_running_loop(), transport_options=options
        )
        consumer.start()
        try:
            await eventually(lambda: received == [event.id], timeout=15)
        finally:
            await stop(consumer)
        assert time.monotonic() - started < visibility + options["unacked_mutex_expire"] + 3


# Takes one `mailer` event without acknowledging it, then dies holding kombu's sweep lock.
DIE_WHILE_SWEEPING = """
import json, os, signal, sys
from kombu import Connection
from kombu.transport.redis import Mutex
from kit import events

with Connection(sys.argv[1], transport_options=json.loads(sys.argv[2])) as conn:
    channel = conn.default_channel
    assert events.queue("mailer")(channel).get(no_ack=False) is not None
    with Mutex(channel.client, channel.unacked_mutex_key, channel.unacked_mutex_expire):
        os.kill(os.getpid(), signal.SIGKILL)
"""
