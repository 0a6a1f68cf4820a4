"""Async database access: one engine per service, one session per request or task.

Transactions end at the boundary: `Database.session()` commits when its block succeeds and
rolls back when it raises (a request's is `kit.dependencies.SessionDep`, a consumer's or a
background task's its own `async with db.session()`); code below it only `flush()`es. Work
that must happen only once the data is durable (publishing jobs, waking the outbox relay) is
registered with `after_commit(session, fn)`.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy import event, make_url
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.types import DateTime, TypeDecorator
from sqlalchemy.util import await_only
from sqlmodel.ext.asyncio.session import AsyncSession

from kit.errors import AppError
from kit.sqlite_inline import InlineSqlite, WalCheckpoints

log = logging.getLogger(__name__)
AfterCommit = Callable[[], Awaitable[None] | None]


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def after_commit(session: AsyncSession, fn: AfterCommit) -> None:
    """Run `fn` once this session's transaction has committed (never if it rolls back)."""
    session.info.setdefault("after_commit", []).append(fn)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


class Database:
    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 10) -> None:
        self.url = url
        kwargs: dict[str, Any] = {"echo": echo, "pool_pre_ping": not is_sqlite(url)}
        if is_sqlite(url):
            path = make_url(url).database or ":memory:"
            kwargs["async_creator"] = lambda: InlineSqlite(path)
        else:
            kwargs.update(pool_size=pool_size, max_overflow=pool_size * 2)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if is_sqlite(url):
            configure_sqlite(self.engine.sync_engine, busy_timeout_ms=0)
            SqliteWriteTurns(self.engine)
            if path != ":memory:":
                WalCheckpoints(self.engine, path)
        self._sessions = async_sessionmaker(
            self.engine, class_=AsyncSession, expire_on_commit=False
        )
        # Quick reads that must not queue for a connection behind writers waiting for their
        # turn (under a burst of new messages, an answer stream's opening check did): their
        # own small pool.
        read_kwargs = {**kwargs, "pool_size": 5, "max_overflow": 10}
        self.read_engine: AsyncEngine = create_async_engine(url, **read_kwargs)
        if is_sqlite(url):
            configure_sqlite(self.read_engine.sync_engine, busy_timeout_ms=0)
        self._reads = async_sessionmaker(
            self.read_engine, class_=AsyncSession, expire_on_commit=False
        )
        # copied into every new session's `info` (the outbox relay registers itself here)
        self.session_defaults: dict[str, Any] = {}

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A transaction: committed on success, rolled back on error, then after-commit work."""
        async with self._sessions() as session:
            session.info.update(self.session_defaults)
            try:
                yield session
                await session.commit()
            except AppError as exc:
                if not exc.keep_changes:
                    await session.rollback()
                    raise
                await session.commit()
                await _run_after_commit(session)
                raise
            except BaseException:
                await session.rollback()
                raise
            await _run_after_commit(session)

    @asynccontextmanager
    async def read_session(self) -> AsyncIterator[AsyncSession]:
        """A session for a few quick reads, from the read pool; never write through it."""
        async with self._reads() as session:
            yield session

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")

    async def dispose(self) -> None:
        await self.engine.dispose()
        await self.read_engine.dispose()


async def _run_after_commit(session: AsyncSession) -> None:
    for fn in session.info.pop("after_commit", []):
        try:
            result = fn()
            if result is not None:
                await result
        except Exception:
            log.exception("after-commit callback failed")


class SqliteWriteTurns:
    """One writing transaction at a time per process, in arrival order (SQLite only).

    SQLite lets one connection write at a time; the others retry inside the driver with
    growing sleeps (its busy handler), which is not first come, first served: under load some
    requests lost the race again and again and waited seconds. Here a transaction takes its
    turn on an asyncio lock before its first write statement and gives it back when its
    connection goes back to the pool (after the commit or rollback), so writers of this process
    queue in order without sleeping. Another process writing (the chat-worker) still meets the
    busy handler. A turn not given back within `TURN_TIMEOUT_SECONDS` is not waited for.
    """

    TURN_TIMEOUT_SECONDS = 30.0
    _KEY = "kit.sqlite_write_turn"

    def __init__(self, engine: AsyncEngine) -> None:
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        # ORM and Core writes are caught before their cursor exists (making one is a round trip
        # to the driver's thread, which would let later writers overtake); raw SQL at the cursor
        event.listen(engine.sync_engine, "before_execute", self._before_execute)
        event.listen(engine.sync_engine, "before_cursor_execute", self._before_cursor_execute)
        for name in ("checkin", "invalidate", "soft_invalidate", "detach", "close"):
            event.listen(engine.sync_engine.pool, name, self._give_back)

    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock

    def _before_execute(self, conn: Any, statement: Any, *_: Any) -> None:
        if getattr(statement, "is_dml", False):
            self._take_turn(conn)

    def _before_cursor_execute(self, conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip()[:6].upper().startswith(_WRITES):
            self._take_turn(conn)

    def _take_turn(self, conn: Any) -> None:
        if self._KEY in conn.info:
            return
        lock = self._lock()
        try:
            await_only(self._acquire(lock))
        except TimeoutError:
            log.warning(
                "no SQLite write turn within %ss; writing anyway", self.TURN_TIMEOUT_SECONDS
            )
            return
        conn.info[self._KEY] = lock

    async def _acquire(self, lock: asyncio.Lock) -> None:
        # A free lock is taken without suspending. `asyncio.wait_for` wrapped the acquire in a
        # task of its own: the transaction then held its turn idle for two passes of the event
        # loop before its first write (under a burst of requests, about a hundred milliseconds),
        # and every other writer queued behind it.
        async with asyncio.timeout(self.TURN_TIMEOUT_SECONDS):
            await lock.acquire()

    def _give_back(self, _dbapi_connection: Any, record: Any, *_: Any) -> None:
        lock = record.info.pop(self._KEY, None) if record is not None else None
        if lock is not None and lock.locked():
            lock.release()


_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLAC")


def configure_sqlite(engine: Engine, *, busy_timeout_ms: int = 30_000) -> None:
    """The pragmas every SQLite connection of ours uses (async engines and sync ones alike).

    The busy timeout makes a writer wait for another's lock instead of failing with "database
    is locked"; the async engines' connections wait on a thread instead (`kit.sqlite_inline`).
    """
    event.listen(engine, "connect", partial(_sqlite_pragmas, busy_timeout_ms=busy_timeout_ms))


def _sqlite_pragmas(dbapi_connection: Any, _: Any, *, busy_timeout_ms: int) -> None:
    # WAL lets readers proceed while one writer commits
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    cursor.close()
