"""Database sessions: commit on success, roll back on error, after-commit work only once durable."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.exc import StatementError
from sqlmodel import func, select

from kit.db import AfterCommit, Database, after_commit
from kit.errors import AppError, Conflict
from kit.events import Event
from kit.outbox import OutboxEvent, add_event


class RecordingRefusal(AppError):
    """A refusal that must keep what the request recorded (like refresh-token reuse)."""

    status_code = 409
    code = "reuse_detected"
    keep_changes = True


async def add_then_raise(
    db: Database, error: Exception, created: list[Event], *callbacks: AfterCommit
) -> None:
    """A transaction that records an event (and after-commit work), then fails with `error`."""
    async with db.session() as session:
        created.append(add_event(session, "auth.user_registered", {"user_id": "u"}))
        for fn in callbacks:
            after_commit(session, fn)
        await session.flush()
        raise error


async def stored(db: Database, event_id: uuid.UUID) -> OutboxEvent | None:
    async with db.session() as session:
        return await session.get(OutboxEvent, event_id)


class TestSession:
    async def test_after_commit_runs_once_the_row_is_visible_elsewhere(self, db: Database) -> None:
        seen: list[OutboxEvent | None] = []

        async with db.session() as session:
            event = add_event(session, "auth.user_registered", {"user_id": "u"})

            async def check() -> None:  # an async callback is awaited
                seen.append(await stored(db, event.id))

            after_commit(session, check)
            assert seen == []  # not before the commit

        assert len(seen) == 1
        assert seen[0] is not None
        assert seen[0].id == event.id

    async def test_after_commit_never_runs_on_rollback(self, db: Database) -> None:
        ran: list[str] = []
        created: list[Event] = []
        with pytest.raises(Conflict):
            await add_then_raise(db, Conflict("taken"), created, lambda: ran.append("sync"))
        assert ran == []
        assert await stored(db, created[0].id) is None

    async def test_a_failing_callback_does_not_stop_the_others(self, db: Database) -> None:
        ran: list[str] = []

        def broken() -> None:
            raise RuntimeError("callback failed")

        async with db.session() as session:
            event = add_event(session, "auth.user_registered", {"user_id": "u"})
            after_commit(session, broken)
            after_commit(session, lambda: ran.append("second"))

        assert ran == ["second"]
        assert await stored(db, event.id) is not None

    async def test_keep_changes_error_commits(self, db: Database) -> None:
        created: list[Event] = []
        with pytest.raises(RecordingRefusal):
            await add_then_raise(db, RecordingRefusal("refresh token reused"), created)
        assert await stored(db, created[0].id) is not None

    async def test_keep_changes_error_runs_after_commit_work(self, db: Database) -> None:
        ran: list[str] = []
        refusal = RecordingRefusal("refresh token reused")
        with pytest.raises(RecordingRefusal):
            await add_then_raise(db, refusal, [], lambda: ran.append("after commit"))
        assert ran == ["after commit"]


class TestUTCDateTime:
    async def test_aware_datetimes_come_back_in_utc(self, db: Database) -> None:
        plus_two = timezone(timedelta(hours=2))
        created = datetime(2030, 1, 2, 14, 30, 15, 123456, tzinfo=plus_two)
        row = OutboxEvent(id=uuid.uuid4(), type="t", payload="{}", created_at=created)
        async with db.session() as session:
            session.add(row)

        loaded = await stored(db, row.id)
        assert loaded is not None
        assert loaded.created_at == created
        assert loaded.created_at.tzinfo == UTC
        assert loaded.created_at.hour == 12

    async def test_naive_datetimes_are_refused(self, db: Database) -> None:
        row = OutboxEvent(id=uuid.uuid4(), type="t", payload="{}", created_at=datetime(2030, 1, 2))
        with pytest.raises(StatementError, match="naive datetime"):
            async with db.session() as session:
                session.add(row)
        assert await stored(db, row.id) is None


class TestSqliteWriteTurns:
    """Writers of one process queue in arrival order instead of racing in SQLite's busy sleeps."""

    async def test_writers_write_in_the_order_they_arrived(self, sqlite_db: Database) -> None:
        started: list[int] = []
        wrote: list[int] = []

        async def writer(i: int) -> None:
            await asyncio.sleep(0.002 * i)  # arrive one after another
            async with sqlite_db.session() as session:
                await session.exec(select(OutboxEvent))  # its connection is ready
                started.append(i)
                add_event(session, "auth.user_registered", {"user_id": str(i)})
                await session.flush()  # its first write: waits for its turn
                wrote.append(i)
                await asyncio.sleep(0.01)  # hold the turn while other writers arrive

        await asyncio.wait_for(asyncio.gather(*(writer(i) for i in range(20))), 20)
        assert wrote == started
        async with sqlite_db.session() as session:
            count = (await session.exec(select(func.count()).select_from(OutboxEvent))).one()
        assert count == 20

    async def test_a_free_turn_is_taken_without_yielding_to_the_event_loop(
        self, sqlite_db: Database
    ) -> None:
        # While a transaction waits for the event loop, its turn is held and every other writer
        # of the process waits too; under a burst a turn of the loop is many milliseconds.
        passes = 0

        async def loop_pass_counter() -> None:
            nonlocal passes
            while True:
                passes += 1
                await asyncio.sleep(0)

        counter = asyncio.create_task(loop_pass_counter())
        await asyncio.sleep(0)
        try:
            async with sqlite_db.session() as session:
                await session.exec(select(OutboxEvent))
                before = passes
                add_event(session, "auth.user_registered", {"user_id": "quick"})
                await session.flush()  # takes the (free) turn: its first write
                await session.commit()
                assert passes == before
        finally:
            counter.cancel()

    async def test_a_failed_writer_gives_its_turn_back(self, sqlite_db: Database) -> None:
        with pytest.raises(Conflict):
            await add_then_raise(sqlite_db, Conflict("no"), [])
        # the next writer gets its turn at once (not after the 30 s turn timeout)
        async with asyncio.timeout(5):
            async with sqlite_db.session() as session:
                add_event(session, "auth.user_registered", {"user_id": "after"})

    async def test_reads_do_not_queue_behind_writers_waiting_for_their_turn(
        self, sqlite_db: Database
    ) -> None:
        holding = asyncio.Event()
        release = asyncio.Event()

        async def holder() -> None:
            async with sqlite_db.session() as session:
                add_event(session, "auth.user_registered", {"user_id": "holder"})
                await session.flush()  # holds the turn
                holding.set()
                await release.wait()

        async def waiting_writer(i: int) -> None:
            async with sqlite_db.session() as session:
                await session.exec(select(OutboxEvent))  # takes a pooled connection
                add_event(session, "auth.user_registered", {"user_id": str(i)})
                await session.flush()  # waits for the turn, keeping the connection

        tasks = [asyncio.create_task(holder())]
        await holding.wait()
        # more writers than the main pool has connections: all of them are in use
        tasks += [asyncio.create_task(waiting_writer(i)) for i in range(20)]
        await asyncio.sleep(0.3)
        try:
            async with asyncio.timeout(5), sqlite_db.read_session() as reading:
                rows = (await reading.exec(select(OutboxEvent))).all()
            assert rows == []  # nothing committed yet
        finally:
            release.set()
            await asyncio.wait_for(asyncio.gather(*tasks), 30)
