"""The answer hub: one blocking read for every open answer stream, against a real Redis."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from chat_service.messages.answering.hub import AnswerHub, AnswerReader
from kit.redis_clients import async_redis
from parley_testing.redis_server import RedisServer

BLOCK_SECONDS = 30.0  # longer than any test: a reader that is served was woken, not timed out


def hub_for(url: str) -> AnswerHub:
    return AnswerHub(async_redis(url), url, BLOCK_SECONDS)


@pytest.fixture
async def hub(redis_server: RedisServer) -> AsyncIterator[AnswerHub]:
    answer_hub = hub_for(redis_server.url)
    yield answer_hub
    await answer_hub.close()
    await answer_hub.shared.aclose()


@pytest.fixture
def new_key() -> Callable[[], str]:
    return lambda: f"parley:answer:test-{uuid.uuid4().hex}"


async def add(redis: Redis, key: str, text: str) -> str:
    return (await redis.xadd(key, {b"type": b"delta", b"data": text.encode()})).decode()


async def read_texts(reader: AnswerReader, count: int, timeout: float = 10) -> list[str]:
    texts: list[str] = []
    deadline = time.monotonic() + timeout
    while len(texts) < count and time.monotonic() < deadline:
        batch = await reader.read(deadline - time.monotonic())
        texts += [fields[b"data"].decode() for _, fields in batch]
    return texts


async def test_hundreds_of_readers_share_one_connection(
    hub: AnswerHub, new_key: Callable[[], str]
) -> None:
    keys = [new_key() for _ in range(300)]
    readers = [hub.reader(key, "0-0") for key in keys]
    waiting = [asyncio.create_task(read_texts(r, 3)) for r in readers]
    deadline = time.monotonic() + 10  # until every reader has found nothing stored and joined
    while not all(r.joined for r in readers) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert all(r.joined for r in readers)
    for part in ("a", "b", "c"):
        for key in keys:
            await add(hub.shared, key, f"{key}:{part}")
    results = await asyncio.gather(*waiting)
    assert results == [[f"{key}:a", f"{key}:b", f"{key}:c"] for key in keys]
    # all the waiting went through the hub's single connection
    assert hub.reading.connection_pool.max_connections == 1
    for reader in readers:
        reader.close()


async def test_a_reader_joining_a_blocked_hub_is_served_at_once(
    hub: AnswerHub, new_key: Callable[[], str]
) -> None:
    first = hub.reader(new_key(), "0-0")
    assert await first.read(0.1) == []  # joined; the hub now blocks on that key alone
    deadline = time.monotonic() + 5
    while hub._read_now is None and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    late_key = new_key()
    late = hub.reader(late_key, "0-0")
    assert await late.read(0.1) == []  # joined while the hub was blocked
    started = time.monotonic()
    await add(hub.shared, late_key, "hello")
    assert await read_texts(late, 1) == ["hello"]
    assert time.monotonic() - started < 2  # woken, not after the 30 s block
    first.close()
    late.close()


async def test_readers_of_one_stream_each_get_every_entry_once_in_order(
    hub: AnswerHub, new_key: Callable[[], str]
) -> None:
    key = new_key()
    early = hub.reader(key, "0-0")
    early_texts = asyncio.create_task(read_texts(early, 6))
    for i in range(3):
        await add(hub.shared, key, f"t{i}")
    await asyncio.sleep(0.2)  # the hub has read those for `early`
    # a second reader starts from the beginning (a new tab) and another resumes after t0
    again = hub.reader(key, "0-0")
    first_id = (await hub.shared.xrange(key, count=1))[0][0].decode()
    resumed = hub.reader(key, first_id)
    again_texts = asyncio.create_task(read_texts(again, 6))
    resumed_texts = asyncio.create_task(read_texts(resumed, 5))
    for i in range(3, 6):
        await add(hub.shared, key, f"t{i}")
    assert await early_texts == [f"t{i}" for i in range(6)]
    assert await again_texts == [f"t{i}" for i in range(6)]
    assert await resumed_texts == [f"t{i}" for i in range(1, 6)]
    for reader in (early, again, resumed):
        reader.close()


async def test_a_stream_deleted_and_written_again_is_followed(
    hub: AnswerHub, new_key: Callable[[], str]
) -> None:
    # regenerate deletes the stream; readers that join afterwards must neither wait for the
    # vanished entries nor spin on them
    key = new_key()
    old = hub.reader(key, "0-0")
    await add(hub.shared, key, "old")
    assert await read_texts(old, 1) == ["old"]
    assert await old.read(0.1) == []  # joined; the hub's cursor is past "old"
    await hub.shared.delete(key)
    newcomer = hub.reader(key, "0-0")
    assert await newcomer.read(0.3) == []
    await add(hub.shared, key, "new")
    assert await read_texts(newcomer, 1) == ["new"]
    assert await read_texts(old, 1) == ["new"]
    old.close()
    newcomer.close()


async def test_entries_a_reader_already_has_do_not_end_its_wait(
    hub: AnswerHub, new_key: Callable[[], str]
) -> None:
    # the hub reads a stream from its earliest reader's position: a reader further on must not
    # wake with nothing new (its stream would send a ping and look up the message for nothing)
    key = new_key()
    first_id = await add(hub.shared, key, "seen")
    reader = hub.reader(key, first_id)
    assert await reader.read(0.1) == []  # caught up and joined
    reader.deliver([(first_id.encode(), {b"type": b"delta", b"data": b"seen"})])
    started = time.monotonic()
    assert await reader.read(0.3) == []
    assert time.monotonic() - started >= 0.25
    await add(hub.shared, key, "new")
    assert await read_texts(reader, 1) == ["new"]
    reader.close()


async def test_nothing_new_returns_empty_after_the_timeout(
    hub: AnswerHub, new_key: Callable[[], str]
) -> None:
    reader = hub.reader(new_key(), "0-0")
    started = time.monotonic()
    assert await reader.read(0.3) == []
    assert 0.25 < time.monotonic() - started < 2
    reader.close()


async def test_redis_going_away_ends_the_waiting_readers_and_the_hub_serves_after_it(
    tmp_path: Path, new_key: Callable[[], str]
) -> None:
    server = RedisServer(tmp_path / "redis").start()
    answer_hub = hub_for(server.url)
    try:
        reader = answer_hub.reader(new_key(), "0-0")
        assert await reader.read(0.1) == []
        waiting = asyncio.create_task(reader.read(BLOCK_SECONDS))
        await asyncio.sleep(0.2)
        server.stop()
        with pytest.raises(RedisError):
            await asyncio.wait_for(waiting, 10)
        reader.close()
        # Redis is back (same port): the client reconnects and its new stream is served
        server = RedisServer(tmp_path / "redis", port=server.port).start()
        key = new_key()
        again = answer_hub.reader(key, "0-0")
        assert await again.read(0.1) == []
        await add(answer_hub.shared, key, "after")
        assert await read_texts(again, 1) == ["after"]
        again.close()
    finally:
        server.stop()
        await answer_hub.close()
        await answer_hub.shared.aclose()


async def test_closing_while_the_hub_starts_a_read_is_prompt(
    redis_server: RedisServer, new_key: Callable[[], str]
) -> None:
    # the moment after a delivery, the hub is sending its next blocking read: a cancel landing
    # there is lost on Python 3.11, and the hub must still stop at once, not after its block
    for _ in range(5):
        answer_hub = hub_for(redis_server.url)
        key = new_key()
        reader = answer_hub.reader(key, "0-0")
        assert await reader.read(0.1) == []
        await add(answer_hub.shared, key, "x")
        assert await read_texts(reader, 1) == ["x"]
        hub_task = answer_hub._task
        started = time.monotonic()
        await answer_hub.close()
        assert time.monotonic() - started < 3
        assert hub_task is not None
        assert hub_task.done()
        reader.close()
        await answer_hub.shared.aclose()
