"""Redis clients, built the same way by every process.

Commands wait their turn for a connection: redis-py's own pool holds at most 100 connections and
fails a command at once beyond that, so a burst of requests (each checking a session, a rate
limit, an answer stream) would fail some of them with "Too many connections". Here a command
waits up to `POOL_WAIT_SECONDS` for a free connection, and only then fails (a 503 upstream).
Our commands are short, so a connection is soon free (a client that blocks, like chat's answer
hub, has a pool of its own).

A command that meets a dropped connection (Redis restarted: every pooled connection is stale)
is sent again on a new one, up to twice; redis-py's asyncio client otherwise fails it. Timeouts
are not retried: the command may have run, and an answer's delta must not be written twice.

redis-py reads its own version from the package metadata (a file read) for every connection it
opens unless told it, so the version is read once here.
"""

from __future__ import annotations

from typing import Any

from redis import BlockingConnectionPool, Redis
from redis.asyncio import BlockingConnectionPool as AsyncBlockingConnectionPool
from redis.asyncio import Redis as AsyncRedis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialWithJitterBackoff
from redis.driver_info import DriverInfo
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry
from redis.utils import get_lib_version

_DRIVER = DriverInfo(lib_version=get_lib_version())  # type: ignore[no-untyped-call]
MAX_CONNECTIONS = 64
POOL_WAIT_SECONDS = 10.0


RECONNECT_RETRIES = 2


def _backoff() -> ExponentialWithJitterBackoff:
    return ExponentialWithJitterBackoff(base=0.05, cap=0.5)


def async_redis(url: str, *, max_connections: int = MAX_CONNECTIONS, **options: Any) -> AsyncRedis:
    options.setdefault("retry", AsyncRetry(_backoff(), RECONNECT_RETRIES, (RedisConnectionError,)))
    return AsyncRedis.from_pool(_pool(AsyncBlockingConnectionPool, url, max_connections, options))


def sync_redis(url: str, *, max_connections: int = MAX_CONNECTIONS, **options: Any) -> Redis:
    options.setdefault("retry", Retry(_backoff(), RECONNECT_RETRIES, (RedisConnectionError,)))
    return Redis.from_pool(_pool(BlockingConnectionPool, url, max_connections, options))


def _pool(kind: Any, url: str, max_connections: int, options: dict[str, Any]) -> Any:
    return kind.from_url(
        url,
        max_connections=max_connections,
        timeout=POOL_WAIT_SECONDS,
        driver_info=_DRIVER,
        **options,
    )
