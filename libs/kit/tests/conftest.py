"""Fixtures for kit's own tests: a database holding the outbox table, and brokers.

kit has no migrations tree, so the `outbox_event` table is created from its SQLModel definition
(services create it with Alembic).
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis import Redis as SyncRedis
from sqlmodel import SQLModel

from kit.db import Database
from kit.outbox import OutboxEvent
from parley_testing.databases import database_url, drop_database
from parley_testing.redis_server import RedisServer

_redis_databases = itertools.count(1)  # db 0 of the shared server is left to key-based tests


async def _outbox_database(backend: str, tmp_path: Path) -> Database:
    db = Database(database_url(backend, "kit", tmp_path))
    async with db.engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all, tables=[OutboxEvent.__table__])
    return db


@pytest.fixture
async def db(database_backend: str, tmp_path: Path) -> AsyncIterator[Database]:
    """A fresh database (SQLite file or PostgreSQL database) with an empty outbox table."""
    database = await _outbox_database(database_backend, tmp_path)
    yield database
    await database.dispose()
    drop_database(database.url)


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await _outbox_database("sqlite", tmp_path)
    yield database
    await database.dispose()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis broker of the test's own, so the test may stop and restart it."""
    server = RedisServer(tmp_path / "broker")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def broker_url(redis_server: RedisServer) -> Iterator[str]:
    """An empty Redis database on the shared server, used as the test's broker."""
    number = next(_redis_databases)
    if number > 15:  # redis-server's default of 16 databases
        pytest.fail("out of Redis databases for broker tests")
    url = f"redis://127.0.0.1:{redis_server.port}/{number}"
    client = SyncRedis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()
