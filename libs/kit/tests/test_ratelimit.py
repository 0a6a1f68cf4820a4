"""The one rate limiter (GCRA in Redis), and its veto key (one round trip for an API key's
revocation and its request rate)."""

from __future__ import annotations

import uuid

import pytest

from kit.ratelimit import REFUSALS, Limit, RateLimited, RateLimiter
from kit.redis_clients import async_redis
from parley_testing.redis_server import RedisServer


def refused(limit: str) -> float:
    return REFUSALS.labels("rate_limited", limit)._value.get()  # type: ignore[attr-defined,no-any-return]


async def test_a_burst_then_refused_with_the_headers_and_counted(redis_server: RedisServer) -> None:
    redis = async_redis(redis_server.url)
    limiter = RateLimiter(redis, prefix=f"test:{uuid.uuid4()}:")
    limit = Limit("three", 3, 60)
    before = refused("three")
    decisions = [await limiter.hit(limit, "k", enforce=False) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions[:3]] == [2, 1, 0]
    assert decisions[3].headers["Retry-After"] == "20"  # one more every 60 / 3 s
    assert refused("three") == before  # not enforced: not a refusal
    with pytest.raises(RateLimited):
        await limiter.hit(limit, "k")
    assert refused("three") == before + 1
    await redis.aclose()


async def test_a_veto_key_refuses_first_and_counts_nothing(redis_server: RedisServer) -> None:
    redis = async_redis(redis_server.url)
    limiter = RateLimiter(redis, prefix=f"test:{uuid.uuid4()}:")
    limit = Limit("two", 2, 60)
    veto = f"test:veto:{uuid.uuid4()}"
    assert (await limiter.hit(limit, "k", unless_set=veto)).allowed  # no veto: counted
    await redis.set(veto, "1")
    vetoed = await limiter.hit(limit, "k", unless_set=veto)  # returned, never raised
    assert (vetoed.allowed, vetoed.vetoed) == (False, True)
    await redis.delete(veto)
    second = await limiter.hit(limit, "k", unless_set=veto)
    assert (second.allowed, second.remaining) == (True, 0)  # the vetoed call took nothing
    await redis.aclose()
