"""One blocking `XREAD` for every answer stream open in this process.

An answer stream (SSE) waits for the worker's next entries in Redis. Each used to wait in a
blocking `XREAD` of its own, holding a Redis connection while it waited: hundreds of open
streams needed hundreds of connections (more than a pool holds), and each new entry cost a
command per stream. Here one task reads for all of them (`XREAD BLOCK ... STREAMS k1 k2 ...`
on a connection of its own) and hands each stream the entries after its position.

A stream reads directly (non-blocking, on the shared pool) until it has caught up with what is
stored, then joins the hub and waits. A stream that joins while the hub is blocked on the
other keys wakes it: one entry on the hub's own wake key, which every read includes.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Coroutine
from typing import Any, cast

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from kit.redis_clients import async_redis

log = logging.getLogger(__name__)

BATCH = 200  # entries per read, per stream
RETRY_AFTER_ERROR_SECONDS = 0.5
Entry = tuple[bytes, dict[bytes, bytes]]


def _order(entry_id: str) -> tuple[int, int]:
    milliseconds, _, sequence = entry_id.partition("-")
    return int(milliseconds), int(sequence or 0)


class _Key:
    """A Redis stream some open answer streams wait on."""

    def __init__(self, cursor: str) -> None:
        self.cursor = cursor  # the last entry the hub has read (or the position it started at)
        self.readers: set[AnswerReader] = set()


class AnswerHub:
    def __init__(self, shared: Redis, url: str, block_seconds: float) -> None:
        """`shared`: the process's pool (direct reads, wake-ups); the blocking reads go to a
        connection of the hub's own to Redis at `url`."""
        self.shared = shared
        # one connection, waiting longer than a blocking read lasts, and not retrying a failed
        # read itself (the hub ends the waiting streams and reads again)
        self.reading = async_redis(
            url, max_connections=1, socket_timeout=block_seconds + 10, retry=Retry(NoBackoff(), 0)
        )
        self.block_ms = int(block_seconds * 1000)
        self.wake_key = f"parley:answer-hub:{uuid.uuid4().hex}"
        self._wake_cursor = "0-0"
        self._keys: dict[str, _Key] = {}
        self._read_now: dict[str, str] | None = None  # what the hub's blocking read waits on
        self._woken = False
        self._closing = False
        self._joined = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()

    def reader(self, key: str, position: str) -> AnswerReader:
        """A reader of `key`'s entries after `position` (an entry id); close it when done."""
        return AnswerReader(self, key, position)

    async def close(self) -> None:
        """Stop reading and close the hub's connection (`shared` stays open)."""
        self._closing = True
        tasks = {t for t in [self._task, *self._background] if t is not None}
        for task in tasks:
            task.cancel()
        if tasks and (await asyncio.wait(tasks, timeout=1))[1]:
            # On Python 3.11 a cancel that lands as redis-py's `wait_for` around sending the
            # command completes is lost, and the hub goes on to block in its read: cut the
            # connection, and the read fails at once (the hub's client does not retry).
            await self.reading.connection_pool.disconnect()
            await asyncio.wait(tasks, timeout=1)
        self._task = None
        await self.reading.aclose()
        try:
            await self.shared.delete(self.wake_key)
        except RedisError:
            pass  # the key expires on its own

    # --- readers ------------------------------------------------------------------------------

    def cursor(self, key: str) -> str | None:
        state = self._keys.get(key)
        return state.cursor if state is not None else None

    def try_join(self, reader: AnswerReader) -> bool:
        """Let the hub read for `reader` from its position; False if the hub has already read
        past that position (the reader must first catch up directly)."""
        state = self._keys.get(reader.key)
        if state is None:
            state = self._keys[reader.key] = _Key(reader.position)
        elif _order(state.cursor) > _order(reader.position):
            return False
        state.readers.add(reader)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="answer-hub")
        if self._read_now is None:
            self._joined.set()
        elif reader.key not in self._read_now and not self._woken:
            self._woken = True
            self._spawn(self._wake())
        return True

    def leave(self, reader: AnswerReader) -> None:
        state = self._keys.get(reader.key)
        if state is not None:
            state.readers.discard(reader)
            if not state.readers:
                del self._keys[reader.key]

    # --- the hub's own task ---------------------------------------------------------------------

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _wake(self) -> None:
        try:
            async with self.shared.pipeline(transaction=False) as pipe:
                pipe.xadd(self.wake_key, {b"w": b""}, maxlen=1, approximate=False)
                pipe.expire(self.wake_key, 3600)
                await pipe.execute()
        except RedisError as exc:  # the hub's read ends by itself within `block_seconds`
            log.warning("answer hub: could not wake the reader: %s", exc)

    async def _run(self) -> None:
        while True:
            if not self._keys:
                self._joined.clear()
                await self._joined.wait()
                continue
            streams: dict[Any, Any] = {key: state.cursor for key, state in self._keys.items()}
            self._read_now = streams
            self._woken = False
            try:
                reply = await self.reading.xread(
                    {**streams, self.wake_key: self._wake_cursor}, count=BATCH, block=self.block_ms
                )
            except Exception as exc:  # Redis unreachable, mostly; the streams end, clients resume
                self._read_now = None
                if self._closing:
                    return
                if not isinstance(exc, RedisError):
                    log.exception("answer hub: read failed")
                self._fail_all(exc)
                await asyncio.sleep(RETRY_AFTER_ERROR_SECONDS)
                continue
            self._read_now = None
            self._deliver(cast(list[tuple[bytes, list[Entry]]], reply or []))

    def _deliver(self, reply: list[tuple[bytes, list[Entry]]]) -> None:
        for raw_key, entries in reply:
            key = raw_key.decode()
            last = entries[-1][0].decode()
            if key == self.wake_key:
                self._wake_cursor = last
                continue
            state = self._keys.get(key)
            if state is None:  # every reader left while the hub was reading
                continue
            # (a reader that joined during the read may have started past these entries)
            state.cursor = max(state.cursor, last, key=_order)
            for reader in state.readers:
                reader.deliver(entries)

    def _fail_all(self, error: Exception) -> None:
        log.warning("answer hub: read failed, ending %d stream(s): %s", len(self._keys), error)
        keys, self._keys = self._keys, {}
        for state in keys.values():
            for reader in state.readers:
                reader.fail(error)


class AnswerReader:
    """One open answer stream's view: the entries after its position, in order, each once."""

    def __init__(self, hub: AnswerHub, key: str, position: str) -> None:
        self.hub = hub
        self.key = key
        self.position = position
        self.joined = False
        self._buffer: list[Entry] = []
        self._ready = asyncio.Event()
        self._error: Exception | None = None

    async def read(self, timeout: float) -> list[Entry]:
        """The next entries; [] if none came within `timeout` seconds. Raises `RedisError`."""
        while not self.joined:
            seen = self.hub.cursor(self.key)
            reply = cast(
                list[tuple[bytes, list[Entry]]],
                await self.hub.shared.xread({self.key: self.position}, count=BATCH),
            )
            if reply and reply[0][1]:
                return self._take(reply[0][1])
            # Nothing after our position is stored, yet the hub had read up to `seen` before
            # we asked: those entries are gone (the stream was deleted), nothing to catch up.
            if seen is not None and _order(seen) > _order(self.position):
                self.position = seen
            self.joined = self.hub.try_join(self)
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            if self._error is not None:
                raise cast(RedisError, self._error)
            entries, self._buffer = self._buffer, []
            if newer := self._take(entries):
                return newer
            # nothing, or only entries this reader already had (the hub read from an earlier
            # position for another reader of the stream): wait on
            self._ready.clear()
            try:
                # not `wait_for`: on Python 3.11 it may lose the cancel of a client that left
                async with asyncio.timeout_at(deadline):
                    await self._ready.wait()
            except TimeoutError:
                return []

    def close(self) -> None:
        if self.joined:
            self.hub.leave(self)

    def deliver(self, entries: list[Entry]) -> None:
        self._buffer.extend(entries)
        self._ready.set()

    def fail(self, error: Exception) -> None:
        self._error = error
        self._ready.set()

    def _take(self, entries: list[Entry]) -> list[Entry]:
        newer = [e for e in entries if _order(e[0].decode()) > _order(self.position)]
        if newer:
            self.position = newer[-1][0].decode()
        return newer
