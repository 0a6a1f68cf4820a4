"""Transactional outbox: events are rows written with the change, published after commit.

`add_event(session, type, data)` stores the event in the caller's transaction, so an event exists
if and only if the change committed. `OutboxRelay` publishes pending rows in order and marks them
published; while the broker is down it keeps them and retries with backoff, so nothing is lost.
Delivery is at least once (a crash between publish and mark re-sends): consumers de-duplicate by
event id.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from kombu import Connection
from sqlalchemy import Column, Index, Text
from sqlmodel import Field, Session, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from kit import events
from kit.db import Database, UTCDateTime, after_commit, utcnow
from kit.metrics import OUTBOX_PENDING

log = logging.getLogger(__name__)


class OutboxEvent(SQLModel, table=True):
    __tablename__ = "outbox_event"
    __table_args__ = (Index("ix_outbox_event_pending", "published_at", "created_at"),)

    id: uuid.UUID = Field(primary_key=True)
    type: str = Field(max_length=100)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    published_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    attempts: int = 0


def add_event(
    session: AsyncSession | Session, event_type: str, data: Mapping[str, Any]
) -> events.Event:
    """Record an event in the current transaction; the relay publishes it after commit.
    `event_type` and `data` come from `kit.event_types`."""
    event = events.Event(type=event_type, data=dict(data))
    session.add(
        OutboxEvent(
            id=event.id,
            type=event.type,
            payload=event.model_dump_json(),
            created_at=event.occurred_at,
        )
    )
    relay = session.info.get("outbox_relay")  # set on the services' async sessions only
    if isinstance(relay, OutboxRelay) and isinstance(session, AsyncSession):
        after_commit(session, relay.notify)
    return event


class OutboxRelay:
    def __init__(
        self,
        db: Database,
        broker_url: str,
        *,
        service: str,
        batch_size: int = 100,
        idle_seconds: float = 2.0,
        max_backoff_seconds: float = 30.0,
    ) -> None:
        self.db = db
        self.broker_url = broker_url
        self.service = service
        self.batch_size = batch_size
        self.idle_seconds = idle_seconds
        self.max_backoff = max_backoff_seconds
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._connection: Connection | None = None
        db.session_defaults["outbox_relay"] = self

    def notify(self) -> None:
        self._wake.set()

    async def publish_pending(self) -> int:
        """Publish one batch of pending events; return how many were published."""
        async with self.db.session() as session:
            query = (
                select(OutboxEvent)
                .where(col(OutboxEvent.published_at).is_(None))
                .order_by(col(OutboxEvent.created_at))
                .limit(self.batch_size)
            )
            if not self.db.url.startswith("sqlite"):
                query = query.with_for_update(skip_locked=True)
            rows = list((await session.exec(query)).all())
            if not rows:
                return 0
            published = await asyncio.to_thread(self._publish_rows, rows)
            now = utcnow()
            for row in rows[:published]:
                row.published_at = now
            for row in rows[published : published + 1]:
                row.attempts += 1
            session.add_all(rows)
        if published < len(rows):
            raise ConnectionError("broker refused an event")
        return published

    def _publish_rows(self, rows: list[OutboxEvent]) -> int:
        """Publish in order; return the count published before the first failure."""
        done = 0
        try:
            if self._connection is None:
                self._connection = events.connect(self.broker_url)
                self._connection.ensure_connection(max_retries=1)
                events.declare_topology(self._connection)
            for row in rows:
                events.publish(
                    self._connection, events.Event.model_validate(json.loads(row.payload))
                )
                done += 1
        except Exception as exc:
            log.warning("outbox publish failed: %s", exc)
            self._close()
        return done

    def _close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.release()
            except Exception:  # the connection is already broken
                log.debug("closing a broken broker connection failed", exc_info=True)
            self._connection = None

    async def count_pending(self) -> int:
        async with self.db.session() as session:
            rows = await session.exec(
                select(OutboxEvent.id).where(col(OutboxEvent.published_at).is_(None))
            )
            return len(rows.all())

    def start(self) -> None:
        """Run the relay in the background until `stop()`."""
        self._stopping = False
        self._task = asyncio.create_task(self.run(), name=f"outbox-relay-{self.service}")

    async def stop(self, timeout: float = 10.0) -> None:
        """Let the batch under way finish, then stop.

        Never cancelled mid-batch: a cancel between its UPDATE and COMMIT could leave a pooled
        connection holding SQLite's write lock while the engine shuts down.
        """
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._task = None
        self._close()

    async def run(self) -> None:
        """Publish until stopped: right after a commit wakes it, otherwise every `idle_seconds`."""
        backoff = 0.5
        while not self._stopping:
            # cleared before publishing, so a commit that lands mid-publish wakes the next round
            self._wake.clear()
            try:
                while await self.publish_pending() == self.batch_size:
                    pass
                backoff = 0.5
                OUTBOX_PENDING.labels(self.service).set(0)
                timeout = self.idle_seconds
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("outbox relay will retry in %.1fs: %s", backoff, exc)
                try:
                    OUTBOX_PENDING.labels(self.service).set(await self.count_pending())
                except Exception:
                    log.debug("counting pending events failed", exc_info=True)
                timeout = backoff
                backoff = min(backoff * 2, self.max_backoff)
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except TimeoutError:
                pass

    def close(self) -> None:
        self._close()
