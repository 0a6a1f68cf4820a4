"""Redis clients under more concurrent commands than their pool has connections."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from kit.redis_clients import MAX_CONNECTIONS, async_redis, sync_redis
from parley_testing.redis_server import RedisServer


async def test_a_burst_larger_than_the_pool_waits_instead_of_failing(
    redis_server: RedisServer,
) -> None:
    redis = async_redis(redis_server.url)
    try:
        # each BLPOP holds its connection for a moment, so the burst really needs them all
        burst = [
            redis.blpop([f"kit:pool-test:{i}"], timeout=0.2) for i in range(3 * MAX_CONNECTIONS)
        ]
        replies = await asyncio.gather(*burst, redis.ping(), return_exceptions=True)
        assert [r for r in replies if isinstance(r, BaseException)] == []
        assert replies[-1] is True
    finally:
        await redis.aclose()


def test_threads_beyond_the_pool_wait_their_turn(redis_server: RedisServer) -> None:
    redis = sync_redis(redis_server.url)
    try:
        with ThreadPoolExecutor(3 * MAX_CONNECTIONS) as threads:
            replies = list(
                threads.map(
                    lambda i: redis.blpop([f"kit:pool-test:t{i}"], timeout=0.2),
                    range(3 * MAX_CONNECTIONS),
                )
            )
        assert replies == [None] * (3 * MAX_CONNECTIONS)
    finally:
        redis.close()


async def test_commands_after_a_redis_restart_do_not_fail(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis").start()
    clients = [async_redis(server.url) for _ in range(2)]
    sync = sync_redis(server.url)
    try:
        # several pooled connections, all of them stale once Redis restarts
        await asyncio.gather(*(c.blpop([f"k{i}"], timeout=0.1) for c in clients for i in range(5)))
        sync.ping()
        server.stop()
        server = RedisServer(tmp_path / "redis", port=server.port).start()
        replies = await asyncio.gather(*(c.set(f"k{i}", i) for c in clients for i in range(5)))
        assert replies == [True] * 10
        assert sync.ping() is True
    finally:
        server.stop()
        for client in clients:
            await client.aclose()
        sync.close()
