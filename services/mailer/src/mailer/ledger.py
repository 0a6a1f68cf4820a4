"""Which mail events were sent, and which are being sent right now, kept in Redis.

Built on `kit.dedupe.Deduplicator` (same keys, `parley:dedupe:mailer:<event id>`), with what a
mail needs on top:

- A claim names its holder and lives on a short lease that the holder renews while it works
  (including while it waits to retry). Only a claim marked `done` makes a copy a duplicate: a copy
  that finds the event *busy* waits instead of being dropped, because the holder may have died,
  and then its lease runs out and the copy takes over. (Acknowledging such a copy as a duplicate
  would lose the mail if the holder had crashed.)
- The number of attempts is kept per event, so a restart does not start the retry budget afresh.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Literal

from redis.asyncio import Redis

from kit.dedupe import Deduplicator

DONE = "done"

# Renew or release only a claim that is still ours.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


@dataclass(frozen=True)
class Claim:
    event_id: str
    token: str


class DeliveryLedger(Deduplicator):
    def __init__(
        self, redis: Redis, *, ttl_seconds: int, lease_seconds: float, consumer: str = "mailer"
    ) -> None:
        super().__init__(redis, consumer, ttl_seconds=ttl_seconds, lease_seconds=int(lease_seconds))
        self.lease_ms = max(100, int(lease_seconds * 1000))

    def _attempts_key(self, event_id: str) -> str:
        return f"parley:{self.consumer}:attempts:{event_id}"

    async def claim(self, event_id: str) -> Claim | Literal["done", "busy"]:
        """Take the event for sending; or say it was sent (`done`) or another holds it (`busy`)."""
        token = f"processing:{secrets.token_hex(8)}"
        key = self._key(event_id)
        if await self.redis.set(key, token, nx=True, px=self.lease_ms):
            return Claim(event_id, token)
        state = await self.redis.get(key)
        return "done" if state in (DONE, DONE.encode()) else "busy"

    async def renew(self, claim: Claim) -> bool:
        return bool(
            await self.redis.eval(_RENEW, 1, self._key(claim.event_id), claim.token, self.lease_ms)
        )

    async def release(self, claim: Claim) -> None:
        await self.redis.eval(_RELEASE, 1, self._key(claim.event_id), claim.token)

    async def mark_done(self, claim: Claim) -> None:
        await self.redis.set(self._key(claim.event_id), DONE, ex=self.ttl)
        await self.redis.delete(self._attempts_key(claim.event_id))

    async def next_attempt(self, event_id: str) -> int:
        """Count one more attempt at the event and return its number (1 for the first)."""
        key = self._attempts_key(event_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, self.ttl)
            attempt, _ = await pipe.execute()
        return int(attempt)

    async def forget_attempts(self, event_id: str) -> None:
        """Start the count afresh, e.g. when the event is dead-lettered (a replay retries fully)."""
        await self.redis.delete(self._attempts_key(event_id))
