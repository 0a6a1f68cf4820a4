"""Consumer de-duplication by event id, with a real Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from kit.dedupe import Deduplicator, EventInProgress
from kit.events import Event
from parley_testing.redis_server import RedisServer


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_server.url)
    yield client
    await client.aclose()


@pytest.fixture
def dedupe(redis: Redis) -> Deduplicator:
    # a consumer name of its own, so tests never see each other's keys
    return Deduplicator(redis, f"test-{uuid.uuid4().hex[:8]}", ttl_seconds=600, lease_seconds=60)


def an_event() -> Event:
    return Event(type="auth.password_changed", data={"user_id": str(uuid.uuid4())})


class TestDeduplicator:
    async def test_second_delivery_of_the_same_event_is_skipped(
        self, dedupe: Deduplicator, redis: Redis
    ) -> None:
        event = an_event()
        handled: list[uuid.UUID] = []

        async def handle(e: Event) -> None:
            handled.append(e.id)

        assert await dedupe.run_once(event, handle) is True
        redelivered = Event.model_validate_json(event.model_dump_json())
        assert await dedupe.run_once(redelivered, handle) is False
        assert handled == [event.id]

        key = f"parley:dedupe:{dedupe.consumer}:{event.id}"
        assert await redis.get(key) == b"done"
        assert 590 < await redis.ttl(key) <= 600

    async def test_other_events_and_other_consumers_are_independent(
        self, dedupe: Deduplicator, redis: Redis
    ) -> None:
        first, second = an_event(), an_event()
        handled: list[tuple[str, uuid.UUID]] = []

        other = Deduplicator(redis, dedupe.consumer + "-other")

        async def record_a(e: Event) -> None:
            handled.append(("a", e.id))

        async def record_b(e: Event) -> None:
            handled.append(("b", e.id))

        assert await dedupe.run_once(first, record_a)
        assert await dedupe.run_once(second, record_a)
        assert await other.run_once(first, record_b)
        assert handled == [("a", first.id), ("a", second.id), ("b", first.id)]

    async def test_failing_handler_releases_the_claim_for_a_redelivery(
        self, dedupe: Deduplicator, redis: Redis
    ) -> None:
        event = an_event()
        attempts: list[uuid.UUID] = []

        async def flaky(e: Event) -> None:
            attempts.append(e.id)
            if len(attempts) == 1:
                raise RuntimeError("smtp down")

        with pytest.raises(RuntimeError, match="smtp down"):
            await dedupe.run_once(event, flaky)
        assert await redis.exists(f"parley:dedupe:{dedupe.consumer}:{event.id}") == 0

        assert await dedupe.run_once(event, flaky) is True
        assert await dedupe.run_once(event, flaky) is False
        assert attempts == [event.id, event.id]

    async def test_delivery_while_the_first_is_being_handled_goes_back_to_the_queue(
        self, dedupe: Deduplicator
    ) -> None:
        event = an_event()
        started, release = asyncio.Event(), asyncio.Event()
        runs: list[uuid.UUID] = []

        async def slow(e: Event) -> None:
            runs.append(e.id)
            started.set()
            await release.wait()

        first = asyncio.create_task(dedupe.run_once(event, slow))
        await asyncio.wait_for(started.wait(), 5)
        # claimed by the running handler: not acknowledged, so a crash of that handler
        # cannot lose the event
        with pytest.raises(EventInProgress):
            await dedupe.run_once(event, slow)
        release.set()
        assert await asyncio.wait_for(first, 5) is True
        assert runs == [event.id]
        assert await dedupe.run_once(event, slow) is False  # done now: skipped

    async def test_claim_is_a_lease_and_a_lapsed_one_is_handled_again(
        self, dedupe: Deduplicator, redis: Redis
    ) -> None:
        event = an_event()
        key = f"parley:dedupe:{dedupe.consumer}:{event.id}"
        during: list[tuple[bytes | None, int]] = []

        async def handle(e: Event) -> None:
            during.append((await redis.get(key), await redis.ttl(key)))

        # a consumer that died mid-handling left its claim behind; it lapses on its own
        await redis.set(key, "processing", px=600)
        with pytest.raises(EventInProgress):
            await dedupe.run_once(event, handle)
        await asyncio.sleep(0.7)
        assert await dedupe.run_once(event, handle) is True
        assert len(during) == 1
        value, ttl = during[0]
        assert value == b"processing"
        assert 50 < ttl <= 60  # the lease, not the week-long "done" ttl
