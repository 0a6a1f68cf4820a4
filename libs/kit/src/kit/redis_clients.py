"""Redis clients, built the same way by every process.

Commands wait their turn for a connection: redis-py's own pool holds at most 100 connections and
fails a command at once beyond that, so a burst of requests (each checking a session, a rate
limit, an answer stream) would fail some of them with "Too many connections". Here a command
waits up to `POOL_WAIT_SECONDS` for a free connection, and only then fails (a 503 upstream).
Our commands are short (nothing blocks on these clients), so a connection is soon free.

redis-py reads its own version from the package metadata (a file read) for every connection it
opens unless told it, so the version is read once here.
"""

from __future__ import annotations

from typing import Any

from redis import BlockingConnectionPool, Redis
from redis.asyncio import BlockingConnectionPool as AsyncBlockingConnectionPool
from redis.asyncio import Redis as AsyncRedis
from redis.driver_info import DriverInfo
from redis.utils import get_lib_version

_DRIVER = DriverInfo(lib_version=get_lib_version())  # type: ignore[no-untyped-call]
MAX_CONNECTIONS = 64
POOL_WAIT_SECONDS = 10.0


def async_redis(url: str, *, max_connections: int = MAX_CONNECTIONS, **options: Any) -> AsyncRedis:
    return AsyncRedis.from_pool(_pool(AsyncBlockingConnectionPool, url, max_connections, options))


def sync_redis(url: str, *, max_connections: int = MAX_CONNECTIONS, **options: Any) -> Redis:
    return Redis.from_pool(_pool(BlockingConnectionPool, url, max_connections, options))


def _pool(kind: Any, url: str, max_connections: int, options: dict[str, Any]) -> Any:
    return kind.from_url(
        url,
        max_connections=max_connections,
        timeout=POOL_WAIT_SECONDS,
        driver_info=_DRIVER,
        **options,
    )
