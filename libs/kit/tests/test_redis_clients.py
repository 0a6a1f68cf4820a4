"""Redis clients under more concurrent commands than their pool has connections."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from kit.redis_clients import MAX_CONNECTIONS, async_redis, sync_redis
from parley.redis_server import RedisServer


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
