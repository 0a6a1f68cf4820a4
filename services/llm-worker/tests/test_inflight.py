"""The worker's answer writer against a real Redis: each answer's stream in the order written."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from kit import answers
from kit.redis_clients import sync_redis
from llm_worker.inflight import Generation, InFlight
from parley_testing.redis_server import RedisServer
from parley_testing.waiting import wait_until


@pytest.fixture
def redis(redis_server: RedisServer) -> Iterator[Redis]:
    client = sync_redis(redis_server.url)
    yield client
    client.close()


def begin(inflight: InFlight) -> Generation:
    """A new answer's generation, its lease taken."""
    generation = inflight.acquire(uuid.uuid4(), 1)
    assert generation is not None
    return generation


def stream_text(redis: Redis, key: str) -> str:
    text = ""
    for _, fields in redis.xrange(key):
        kind, data = answers.decode(fields)
        if kind == "reset":
            text = ""
        elif kind == "delta":
            text += data["text"]
    return text


def around_pipelines(redis: Redis, around: Callable[[Any, Callable[[], Any]], Any]) -> None:
    """Every pipeline of `redis` runs `around(pipe, execute)` where it would run `execute()`."""
    pipeline = redis.pipeline

    def wrapped_pipeline(*args: Any, **kwargs: Any) -> Any:
        pipe = pipeline(*args, **kwargs)
        execute = pipe.execute
        pipe.execute = lambda *a, **k: around(pipe, lambda: execute(*a, **k))  # type: ignore[method-assign]
        return pipe

    redis.pipeline = wrapped_pipeline  # type: ignore[method-assign]


def slow_round_trips(redis: Redis) -> None:
    """Every pipeline of `redis` takes 10 ms longer, as over a slow network."""

    def slow(_pipe: Any, execute: Callable[[], Any]) -> Any:
        time.sleep(0.01)
        return execute()

    around_pipelines(redis, slow)


def test_deltas_reach_the_stream_in_order_while_the_writer_thread_flushes(redis: Redis) -> None:
    # The writer thread flushes pending deltas for all answers each tick, while each answer's
    # own thread flushes what is left when it ends: the two must never swap their texts.
    slow_round_trips(redis)  # widen the moment between taking pending deltas and writing them
    inflight = InFlight(redis)
    expected: dict[str, str] = {}

    def answer() -> None:
        generation = begin(inflight)
        tokens = [f" t{i}" for i in range(60)]
        expected[generation.key] = "".join(tokens)
        for token in tokens:
            inflight.delta(generation, token)
            time.sleep(random.uniform(0, 0.015))
        inflight.release(generation)

    threads = [threading.Thread(target=answer) for _ in range(60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(expected) == 60
    assert {key: stream_text(redis, key) for key in expected} == expected


def test_deltas_written_while_redis_is_away_reach_the_stream_when_it_is_back(
    tmp_path: Path,
) -> None:
    server = RedisServer(tmp_path / "redis").start()
    redis = sync_redis(server.url)
    inflight = InFlight(redis)
    try:
        generation = begin(inflight)
        tokens = [f" t{i}" for i in range(30)]
        for token in tokens[:10]:
            inflight.delta(generation, token)
        time.sleep(0.2)  # flushed
        server.stop()
        for token in tokens[10:20]:
            inflight.delta(generation, token)
        time.sleep(0.3)  # the writer thread's flushes fail meanwhile
        server = RedisServer(tmp_path / "redis", port=server.port).start()
        for token in tokens[20:]:
            inflight.delta(generation, token)
        inflight.release(generation)
        assert stream_text(redis, generation.key) == "".join(tokens)
    finally:
        server.stop()
        redis.close()


def lose_replies(redis: Redis, count: int) -> list[int]:
    """The next `count` appends of deltas (commands or pipelines) reach Redis, but their replies
    are lost, as when the connection drops after the commands went out; returns a list that
    counts them."""
    lost: list[int] = []
    appends = ("EVALSHA", "XADD")

    def lose_reply(sent_an_append: bool, result: Any) -> Any:
        if sent_an_append and len(lost) < count:
            lost.append(1)
            raise RedisConnectionError("Connection closed by server.")
        return result

    def lossy(pipe: Any, execute: Callable[[], Any]) -> Any:
        sent = any(c[0][0] in appends for c in pipe.command_stack)
        return lose_reply(sent, execute())

    around_pipelines(redis, lossy)
    execute_command = redis.execute_command
    redis.execute_command = lambda *args, **kwargs: lose_reply(  # type: ignore[method-assign]
        args[0] in appends, execute_command(*args, **kwargs)
    )
    return lost


def test_a_write_whose_reply_was_lost_is_not_shown_twice(redis: Redis) -> None:
    # Sent again after a lost reply, deltas that did reach the stream must not appear twice
    # (a reader would show "Hello Hello world"), nor may any be missing.
    inflight = InFlight(redis)
    generation = begin(inflight)
    inflight.delta(generation, "first")  # also loads the script: not a lost write
    lost = lose_replies(redis, 3)
    tokens = [f" t{i}" for i in range(20)]
    for token in tokens:
        inflight.delta(generation, token)
        time.sleep(0.01)
    inflight.release(generation)
    assert len(lost) == 3
    assert stream_text(redis, generation.key) == "first" + "".join(tokens)


def test_the_first_delta_whose_reply_was_lost_is_not_shown_twice(redis: Redis) -> None:
    redis.script_flush()  # the script is loaded on the way, as on a fresh Redis
    inflight = InFlight(redis)
    generation = begin(inflight)
    lost = lose_replies(redis, 1)
    inflight.delta(generation, "Hello")
    inflight.delta(generation, " world")
    inflight.release(generation)
    assert lost == [1]
    assert stream_text(redis, generation.key) == "Hello world"


def test_a_copy_whose_lease_passed_to_another_stops_and_leaves_the_other_alone(
    redis: Redis,
) -> None:
    # This copy stalled past its lease and another copy of the job took it: at the next
    # heartbeat this one stops (its upstream request closed), writes nothing more to the
    # stream the other now owns, and does not delete the other's lease when it ends.
    inflight = InFlight(redis)
    generation = begin(inflight)
    closed = threading.Event()
    generation.on_cancel = closed.set
    inflight.delta(generation, "mine")
    lease = answers.lease_key(generation.message_id)
    redis.set(lease, "the-other-copy", ex=30)
    redis.xadd(generation.key, answers.encode("reset", {}))
    wait_until("this copy to stop", lambda: generation.lost, 5)
    assert closed.is_set()
    assert generation.cancelled.is_set()
    inflight.delta(generation, " and more of mine")
    inflight.release(generation)
    assert redis.get(lease) == b"the-other-copy"
    assert stream_text(redis, generation.key) == ""


def test_a_lease_gone_from_redis_is_taken_again_by_its_holder(redis: Redis) -> None:
    # Redis restarted without its data: the lease is gone, no other copy holds it, and the
    # copy still generating takes it again rather than leave the job open to a second copy.
    inflight = InFlight(redis)
    generation = begin(inflight)
    lease = answers.lease_key(generation.message_id)
    redis.delete(lease)
    redis.script_flush()
    wait_until("the lease to be taken again", lambda: redis.get(lease), 5)
    assert redis.get(lease) == generation.lease_token.encode()
    assert not generation.lost
    assert not generation.cancelled.is_set()
    inflight.release(generation)
    assert redis.get(lease) is None
