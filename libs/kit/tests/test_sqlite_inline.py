"""SQLite calls made on the event loop's thread must never stall it: not behind another
process's write lock, not for a checkpoint."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import make_url
from sqlmodel import func, select

from kit import sqlite_inline
from kit.db import Database
from kit.outbox import OutboxEvent, add_event


def path_of(db: Database) -> str:
    path = make_url(db.url).database
    assert path is not None
    return path


async def largest_stall(seconds: float) -> float:
    """The longest the event loop went without running this ticker, over `seconds`."""
    largest, last = 0.0, time.monotonic()
    deadline = last + seconds
    while last < deadline:
        await asyncio.sleep(0.005)
        now = time.monotonic()
        largest, last = max(largest, now - last), now
    return largest


async def count_events(db: Database) -> int:
    async with db.read_session() as session:
        return (await session.exec(select(func.count()).select_from(OutboxEvent))).one()


async def test_statements_run_without_a_thread_of_their_own(sqlite_db: Database) -> None:
    before = threading.active_count()
    for i in range(5):
        async with sqlite_db.session() as session:
            add_event(session, "auth.user_registered", {"user_id": str(i)})
    assert await count_events(sqlite_db) == 5
    assert threading.active_count() == before  # aiosqlite starts one per connection


async def test_a_write_waits_for_another_process_lock_without_stalling_the_loop(
    sqlite_db: Database,
) -> None:
    other = sqlite3.connect(path_of(sqlite_db), isolation_level=None)  # another process's writer
    other.execute("BEGIN IMMEDIATE")  # holds the write lock
    try:

        async def write() -> None:
            async with sqlite_db.session() as session:
                add_event(session, "auth.user_registered", {"user_id": "waited"})

        writing = asyncio.create_task(write())
        assert await largest_stall(0.6) < 0.2
        assert not writing.done()  # still waiting for the lock
        other.execute("COMMIT")
        await asyncio.wait_for(writing, 10)
    finally:
        other.close()
    assert await count_events(sqlite_db) == 1


async def test_a_read_during_another_process_write_is_served_at_once(
    sqlite_db: Database,
) -> None:
    other = sqlite3.connect(path_of(sqlite_db), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute(
        "INSERT INTO outbox_event (id, type, payload, created_at, attempts) "
        "VALUES ('00000000000000000000000000000001', 't', '{}', '2026-01-01 00:00:00', 0)"
    )
    try:
        async with asyncio.timeout(1):
            assert await count_events(sqlite_db) == 0  # the uncommitted row is not seen
    finally:
        other.execute("ROLLBACK")
        other.close()


async def test_commits_are_checkpointed_into_the_database_file(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_inline.WalCheckpoints, "EVERY_COMMITS", 5)
    for i in range(5):
        async with sqlite_db.session() as session:
            add_event(session, "auth.user_registered", {"user_id": str(i)})
    # the checkpoint runs on a thread: its copy of the log reaches the file shortly
    copy = tmp_path / "file-alone.db"
    deadline = time.monotonic() + 5
    while True:
        shutil.copy(path_of(sqlite_db), copy)  # the database file without its write-ahead log
        with closing(sqlite3.connect(copy)) as alone:
            try:
                count = alone.execute("SELECT count(*) FROM outbox_event").fetchone()[0]
            except sqlite3.DatabaseError:
                # not even the table is in the file yet, or the copy caught the checkpoint
                # mid-write (a torn copy reads as malformed): copy again
                count = 0
        if count or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    # the fifth commit (the table's creation was the first) starts it: at least the three rows
    # before it; it copies whatever the log holds by the time it runs
    assert count >= 3
