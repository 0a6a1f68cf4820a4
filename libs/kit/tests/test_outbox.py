"""The transactional outbox: rows exist only if the change committed; the relay loses nothing."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest
from redis import Redis as SyncRedis
from redis.asyncio import Redis
from sqlmodel import col, select

from kit import events
from kit.db import Database
from kit.errors import NotFound
from kit.outbox import OutboxEvent, OutboxRelay, add_event
from parley_testing.redis_server import RedisServer

MAILER_EVENT = "auth.password_changed"  # routed to the `mailer` queue


async def stored(db: Database, event_id: uuid.UUID) -> OutboxEvent | None:
    async with db.session() as session:
        return await session.get(OutboxEvent, event_id)


async def all_rows(db: Database) -> list[OutboxEvent]:
    async with db.session() as session:
        query = select(OutboxEvent).order_by(col(OutboxEvent.created_at))
        return list((await session.exec(query)).all())


async def commit_event(db: Database, n: int = 0) -> events.Event:
    async with db.session() as session:
        return add_event(session, MAILER_EVENT, {"n": n, "email": f"u{n}@example.com"})


async def add_then_raise(db: Database, error: Exception, created: list[events.Event]) -> None:
    async with db.session() as session:
        created.append(add_event(session, MAILER_EVENT, {"n": 1}))
        await session.flush()  # the row reached the database, inside the transaction
        raise error


async def wait_until_published(relay: OutboxRelay, timeout: float) -> float:
    """Seconds until nothing is pending; fails after `timeout`."""
    start = time.monotonic()
    while await relay.count_pending():
        if time.monotonic() - start > timeout:
            pytest.fail(f"events still pending after {timeout}s")
        await asyncio.sleep(0.05)
    return time.monotonic() - start


def wait_for_redis(url: str, timeout: float = 5.0) -> None:
    """Until the (re)started server answers PING (it refuses commands while loading its data)."""
    client = SyncRedis.from_url(url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                if client.ping():
                    return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
    finally:
        client.close()


def read_mailer_queue(broker_url: str, expected: int) -> list[dict[str, Any]]:
    """`expected` messages from the `mailer` queue, acknowledged, in delivery order.

    Fails if fewer arrive within a few seconds, or if more are waiting after them.
    """
    bodies: list[dict[str, Any]] = []
    with events.connect(broker_url) as conn:
        events.declare_topology(conn)
        queue = conn.SimpleQueue(events.queue("mailer"), accept=["json"])
        try:
            for _ in range(expected):
                message = queue.get(block=True, timeout=5)
                bodies.append(message.payload)
                message.ack()
            try:
                extra = queue.get(block=False)
            except queue.Empty:
                extra = None
            assert extra is None, f"more events than published: {extra.payload}"
        finally:
            queue.close()
    return bodies


class TestAddEvent:
    async def test_committed_transaction_stores_the_event(self, db: Database) -> None:
        async with db.session() as session:
            event = add_event(session, MAILER_EVENT, {"user_id": "u1", "email": "a@example.com"})

        row = await stored(db, event.id)
        assert row is not None
        assert row.type == MAILER_EVENT
        assert row.published_at is None
        assert row.attempts == 0
        assert events.Event.model_validate_json(row.payload) == event
        assert row.created_at == event.occurred_at

    async def test_error_inside_the_transaction_stores_nothing(self, db: Database) -> None:
        created: list[events.Event] = []
        with pytest.raises(RuntimeError, match="boom"):
            await add_then_raise(db, RuntimeError("boom"), created)

        assert await stored(db, created[0].id) is None
        assert await all_rows(db) == []

    async def test_app_error_inside_the_transaction_stores_nothing(self, db: Database) -> None:
        created: list[events.Event] = []
        with pytest.raises(NotFound):
            await add_then_raise(db, NotFound(), created)

        assert await stored(db, created[0].id) is None


class TestOutboxRelay:
    async def test_broker_down_keeps_events_and_publishes_all_in_order_once_up(
        self, db: Database, broker: RedisServer
    ) -> None:
        relay = OutboxRelay(db, broker.url, service="kit-test")
        broker.stop()
        try:
            added = [await commit_event(db, n) for n in range(20)]

            with pytest.raises(ConnectionError):
                await relay.publish_pending()

            rows = await all_rows(db)
            assert [row.id for row in rows] == [event.id for event in added]
            assert all(row.published_at is None for row in rows)
            assert rows[0].attempts == 1  # the event the broker refused is counted
            assert await relay.count_pending() == 20

            broker.start()  # same port, same data directory
            await asyncio.to_thread(wait_for_redis, broker.url)
            for _ in range(3):
                try:
                    await relay.publish_pending()
                except ConnectionError:
                    await asyncio.sleep(0.2)
                if not await relay.count_pending():
                    break

            rows = await all_rows(db)
            assert all(row.published_at is not None for row in rows)
            received = await asyncio.to_thread(read_mailer_queue, broker.url, 20)
        finally:
            relay.close()

        assert [body["id"] for body in received] == [str(event.id) for event in added]
        assert [body["data"]["n"] for body in received] == list(range(20))
        assert all(body["type"] == MAILER_EVENT and body["version"] == 1 for body in received)

    async def test_publish_pending_with_nothing_pending_publishes_nothing(
        self, db: Database, broker: RedisServer
    ) -> None:
        relay = OutboxRelay(db, broker.url, service="kit-test")
        try:
            assert await relay.publish_pending() == 0
            event = await commit_event(db)
            assert await relay.publish_pending() == 1
            assert await relay.publish_pending() == 0
            received = await asyncio.to_thread(read_mailer_queue, broker.url, 1)
        finally:
            relay.close()
        assert [body["id"] for body in received] == [str(event.id)]

    async def test_run_publishes_right_after_a_commit(
        self, db: Database, broker: RedisServer
    ) -> None:
        relay = OutboxRelay(db, broker.url, service="kit-test", idle_seconds=30)
        warm_up = await commit_event(db, 0)
        task = asyncio.create_task(relay.run())
        try:
            await wait_until_published(relay, timeout=5)  # the first pass, without any wake-up
            await asyncio.sleep(0.3)  # the relay is now idle, for up to 30 s

            event = await commit_event(db, 1)
            elapsed = await wait_until_published(relay, timeout=5)
            assert elapsed < 5  # woken by the commit, not by the 30 s idle timer
            received = await asyncio.to_thread(read_mailer_queue, broker.url, 2)
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            relay.close()
        assert [body["id"] for body in received] == [str(warm_up.id), str(event.id)]

    async def test_commit_during_a_publish_still_wakes_the_relay(
        self, sqlite_db: Database, broker: RedisServer
    ) -> None:
        db = sqlite_db
        relay = OutboxRelay(db, broker.url, service="kit-test", idle_seconds=30)
        await commit_event(db, 0)
        task = asyncio.create_task(relay.run())
        control = Redis.from_url(broker.url)
        try:
            await wait_until_published(relay, timeout=5)
            await asyncio.sleep(0.3)  # idle

            # The broker stalls for 2 s: the relay is woken by the first commit and blocks
            # while publishing it; the second commit lands a second later, during that publish.
            await control.execute_command("CLIENT", "PAUSE", "2000")
            await commit_event(db, 1)
            await asyncio.sleep(1.0)
            await commit_event(db, 2)

            await wait_until_published(relay, timeout=3)  # well under idle_seconds
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            relay.close()
            await control.aclose()
