"""Consumer de-duplication by event id, kept in Redis.

An event is claimed with a short lease while it is handled and marked done (kept for `ttl`)
afterwards, so a redelivered event is skipped, while one whose handler crashed is handled again
once its lease lapses.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

from kit.events import Event


class EventInProgress(Exception):
    """Another consumer holds this event's claim; try again later."""


class Deduplicator:
    def __init__(
        self,
        redis: Redis,
        consumer: str,
        *,
        ttl_seconds: int = 7 * 24 * 3600,
        lease_seconds: int = 300,
    ) -> None:
        self.redis = redis
        self.consumer = consumer
        self.ttl = ttl_seconds
        self.lease = lease_seconds

    def _key(self, event_id: str) -> str:
        return f"parley:dedupe:{self.consumer}:{event_id}"

    async def run_once(self, event: Event, handle: Callable[[Event], Awaitable[None]]) -> bool:
        """Handle `event` unless it was handled; True if it ran now.

        An event another consumer is still handling raises `EventInProgress`, so the message
        goes back on the queue instead of being acknowledged: if that consumer crashed, the
        event is handled once its lease lapses.
        """
        key = self._key(str(event.id))
        if not await self.redis.set(key, "processing", nx=True, ex=self.lease):
            if await self.redis.get(key) == b"done":
                return False
            raise EventInProgress(str(event.id))
        try:
            await handle(event)
        except BaseException:
            await self.redis.delete(key)
            raise
        await self.redis.set(key, "done", ex=self.ttl)
        return True
