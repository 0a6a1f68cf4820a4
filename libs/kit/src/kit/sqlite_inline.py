"""SQLite on the event loop's own thread, for the async engines of `kit.db`.

aiosqlite hands every call to a thread of its own and back: a cursor, an execute, a fetch and a
close for each statement. On one core such a hop costs 20-60 µs, while SQLite's own work for our
small indexed statements is a few µs, so the hops were most of chat's database time. Here the
same aiosqlite interface runs each call at once instead (`InlineSqlite`).

Two things could make a call slow, and neither may stall the event loop:
- another process holding the write lock (the chat-worker, a `parley` command): these
  connections do not wait for a lock (busy timeout 0); a call that finds the database locked is
  made again on a thread that waits for the lock up to `LOCK_WAIT_SECONDS`. Writers of the same
  process never meet it: they take turns (`kit.db.SqliteWriteTurns`).
- a checkpoint (copying the write-ahead log into the database file, with an fsync), which SQLite
  otherwise runs inside a commit every thousand pages: `WalCheckpoints` runs it on a thread.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from contextlib import closing
from typing import Any

import aiosqlite
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)
LOCK_WAIT_SECONDS = 30.0


class _RunNow:
    """Stands in for aiosqlite's queue to its thread: each call is made as it is queued."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as exc:  # handed to the awaiting caller, as aiosqlite does
            if future is not None:
                future.set_exception(exc)
        else:
            if future is not None:
                future.set_result(result)


class InlineSqlite(aiosqlite.Connection):
    def __init__(self, path: str) -> None:
        super().__init__(lambda: _connect(path), iter_chunk_size=64)
        self._tx = _RunNow()  # type: ignore[assignment]

    def __await__(self) -> Any:
        return self._connect().__await__()  # no thread to start

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or self._connection is None:
            raise ValueError("Connection closed")
        try:
            return fn(*args, **kwargs)
        except sqlite3.OperationalError as exc:
            if not _locked(exc):
                raise
        # Refused without any change made (SQLITE_BUSY): the same call again, waiting this time.
        return await asyncio.to_thread(self._waiting_for_lock, fn, args, kwargs)

    def _waiting_for_lock(self, fn: Callable[..., Any], args: Any, kwargs: Any) -> Any:
        connection = self._conn
        connection.execute(f"PRAGMA busy_timeout={int(LOCK_WAIT_SECONDS * 1000)}")
        try:
            return fn(*args, **kwargs)
        finally:
            connection.execute("PRAGMA busy_timeout=0")


def _connect(path: str) -> sqlite3.Connection:
    # check_same_thread off: a call refused by a lock is made again on a worker thread
    connection = sqlite3.connect(path, timeout=0, check_same_thread=False)
    connection.execute("PRAGMA wal_autocheckpoint=0")  # WalCheckpoints runs them
    return connection


def _locked(exc: sqlite3.OperationalError) -> bool:
    return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY


class WalCheckpoints:
    """Every `EVERY_COMMITS` commits of an engine, a passive checkpoint on a thread.

    Passive: it copies what no reader still needs and never waits for readers or writers. The
    log grows between checkpoints by about the pages those commits wrote.
    """

    EVERY_COMMITS = 500

    def __init__(self, engine: AsyncEngine, path: str) -> None:
        self.path = path
        self._commits = 0
        self._running: asyncio.Future[None] | None = None
        event.listen(engine.sync_engine, "commit", self._committed)

    def _committed(self, _conn: Any) -> None:
        self._commits += 1
        if self._commits < self.EVERY_COMMITS or self._running is not None:
            return
        self._commits = 0
        self._running = asyncio.get_running_loop().run_in_executor(None, self.checkpoint)
        self._running.add_done_callback(self._finished)

    def checkpoint(self) -> None:
        with closing(sqlite3.connect(self.path, timeout=LOCK_WAIT_SECONDS)) as connection:
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def _finished(self, done: asyncio.Future[None]) -> None:
        self._running = None
        if not done.cancelled() and done.exception() is not None:
            log.warning("SQLite checkpoint failed: %s", done.exception())
