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

A Redis that hangs (accepts connections, answers nothing) must not hang every request: commands
give up after `SOCKET_TIMEOUT` (connecting after `CONNECT_TIMEOUT`), and each client has a
circuit breaker: after a command timed out it fails commands at once for `BREAKER_COOLDOWN`
seconds, then lets them try again (the first success closes it). A refused connection (Redis
down, not hung) already fails in milliseconds and does not open it. A request that needs Redis
therefore answers 503 within about two seconds, and a hung dependency is not hammered meanwhile;
`/readyz` (a PING through the same client) is red while it is open and green once Redis answers.

redis-py reads its own version from the package metadata (a file read) for every connection it
opens unless told it, so the version is read once here.
"""

from __future__ import annotations

import time
from typing import Any

from redis import BlockingConnectionPool, Redis
from redis.asyncio import BlockingConnectionPool as AsyncBlockingConnectionPool
from redis.asyncio import Redis as AsyncRedis
from redis.asyncio.connection import Connection as AsyncConnection
from redis.asyncio.connection import SSLConnection as AsyncSSLConnection
from redis.asyncio.connection import UnixDomainSocketConnection as AsyncUnixConnection
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialWithJitterBackoff
from redis.connection import Connection, SSLConnection, UnixDomainSocketConnection
from redis.driver_info import DriverInfo
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry
from redis.utils import get_lib_version

_DRIVER = DriverInfo(lib_version=get_lib_version())  # type: ignore[no-untyped-call]
MAX_CONNECTIONS = 64
POOL_WAIT_SECONDS = 10.0
CONNECT_TIMEOUT = 1.0
SOCKET_TIMEOUT = 1.5
BREAKER_COOLDOWN = 1.0


RECONNECT_RETRIES = 2


def _backoff() -> ExponentialWithJitterBackoff:
    return ExponentialWithJitterBackoff(base=0.05, cap=0.5)


class CircuitOpen(RedisConnectionError):
    """Redis failed a moment ago: the command is failed at once instead of waiting on it."""


class CircuitBreaker:
    """Open for `cooldown` seconds after a failure; shared by every connection of one client."""

    def __init__(self, cooldown: float = BREAKER_COOLDOWN) -> None:
        self.cooldown = cooldown
        self.open_until = 0.0

    def check(self) -> None:
        if self.open_until and time.monotonic() < self.open_until:
            raise CircuitOpen("Redis is unavailable (it failed a moment ago).")

    def failed(self) -> None:
        self.open_until = time.monotonic() + self.cooldown

    def succeeded(self) -> None:
        self.open_until = 0.0


# a hung Redis: connecting or reading timed out (redis-py raises its own TimeoutError for both)
FAILURES = (RedisTimeoutError, TimeoutError)


def _guarded_async(base: type[AsyncConnection], breaker: CircuitBreaker) -> type[AsyncConnection]:
    class Guarded(base):  # type: ignore[valid-type, misc]
        async def connect(self) -> None:
            breaker.check()
            try:
                await super().connect()
            except FAILURES:
                breaker.failed()
                raise

        async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
            breaker.check()
            try:
                await super().send_packed_command(command, check_health)
            except FAILURES:
                breaker.failed()
                raise

        async def read_response(self, *args: Any, **kwargs: Any) -> Any:
            try:
                response = await super().read_response(*args, **kwargs)
            except FAILURES:
                breaker.failed()
                raise
            breaker.succeeded()
            return response

    return Guarded


def _guarded_sync(base: type[Connection], breaker: CircuitBreaker) -> type[Connection]:
    class Guarded(base):  # type: ignore[valid-type, misc]
        def connect(self) -> None:
            breaker.check()
            try:
                super().connect()
            except FAILURES:
                breaker.failed()
                raise

        def send_packed_command(self, command: Any, check_health: bool = True) -> None:
            breaker.check()
            try:
                super().send_packed_command(command, check_health)
            except FAILURES:
                breaker.failed()
                raise

        def read_response(self, *args: Any, **kwargs: Any) -> Any:
            try:
                response = super().read_response(*args, **kwargs)
            except FAILURES:
                breaker.failed()
                raise
            breaker.succeeded()
            return response

    return Guarded


def _defaults(options: dict[str, Any]) -> None:
    options.setdefault("socket_connect_timeout", CONNECT_TIMEOUT)
    options.setdefault("socket_timeout", SOCKET_TIMEOUT)


def async_redis(url: str, *, max_connections: int = MAX_CONNECTIONS, **options: Any) -> AsyncRedis:
    options.setdefault("retry", AsyncRetry(_backoff(), RECONNECT_RETRIES, (RedisConnectionError,)))
    _defaults(options)
    base = {"rediss": AsyncSSLConnection, "unix": AsyncUnixConnection}.get(_scheme(url))
    options["connection_class"] = _guarded_async(base or AsyncConnection, CircuitBreaker())
    return AsyncRedis.from_pool(_pool(AsyncBlockingConnectionPool, url, max_connections, options))


def sync_redis(url: str, *, max_connections: int = MAX_CONNECTIONS, **options: Any) -> Redis:
    options.setdefault("retry", Retry(_backoff(), RECONNECT_RETRIES, (RedisConnectionError,)))
    _defaults(options)
    base = {"rediss": SSLConnection, "unix": UnixDomainSocketConnection}.get(_scheme(url))
    options["connection_class"] = _guarded_sync(base or Connection, CircuitBreaker())
    return Redis.from_pool(_pool(BlockingConnectionPool, url, max_connections, options))


def _scheme(url: str) -> str:
    return url.split("://", 1)[0].lower()


def _pool(kind: Any, url: str, max_connections: int, options: dict[str, Any]) -> Any:
    return kind.from_url(
        url,
        max_connections=max_connections,
        timeout=POOL_WAIT_SECONDS,
        driver_info=_DRIVER,
        **options,
    )
