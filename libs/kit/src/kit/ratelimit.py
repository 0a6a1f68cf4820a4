"""The one rate limiter: GCRA in Redis, shared by every process and every per-key limit.

A `Limit` allows `limit` events per `period_seconds` for each key (a user, an IP, an account),
as a burst of up to `limit` at once that refills evenly (one every period/limit seconds) — the
generic cell rate algorithm, as GitHub-style APIs and Stripe limit. One Redis key per (limit,
key) holds the "theoretical arrival time"; a Lua script updates it atomically, reading Redis's
own clock, so any number of processes share one budget.

Refusals are `429 rate_limited` with `Retry-After`; every decision carries the IETF
`RateLimit-Policy` / `RateLimit` header values (draft-ietf-httpapi-ratelimit-headers), which the
chat service also sends on accepted costly writes so clients can pace themselves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter
from redis.asyncio import Redis
from redis.exceptions import RedisError

from kit.errors import ServiceUnavailable, TooManyRequests
from kit.settings import KitSettings

PREFIX = "parley:rl:"
# Requests refused by a limit or a budget; `limit` is a policy name (a few fixed ones), never a
# user, key or workspace.
REFUSALS = Counter(
    "parley_limit_refusals_total",
    "Requests refused by a rate limit or budget.",
    ["reason", "limit"],
)

# ARGV: limit, period (ms). Answers {allowed, remaining, retry_after_ms, reset_ms}; with a
# second key that exists (a veto, such as a revoked API key's mark), {-1, 0, 0, 0} and nothing
# counted: one round trip for both checks.
_GCRA = """
if KEYS[2] and redis.call('EXISTS', KEYS[2]) == 1 then return {-1, 0, 0, 0} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local interval = period / limit
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + interval
if new_tat - period > now then
  return {0, 0, math.ceil(new_tat - period - now), math.ceil(tat - now)}
end
redis.call('SET', KEYS[1], tostring(new_tat), 'PX', math.ceil(new_tat - now))
local remaining = math.floor((now + period - new_tat) / interval)
return {1, remaining, 0, math.ceil(new_tat - now)}
"""


class RateLimited(TooManyRequests):
    code = "rate_limited"


@dataclass(frozen=True)
class Limit:
    name: str  # the policy's name in headers and the Redis key: "messages", "login-ip", ...
    limit: int
    period_seconds: int
    message: str = "Too many requests; try again later."

    @property
    def policy(self) -> str:
        return f'"{self.name}";q={self.limit};w={self.period_seconds}'


@dataclass(frozen=True)
class Decision:
    limit: Limit
    allowed: bool
    remaining: int
    retry_after: int  # seconds; 0 when allowed
    reset: int  # seconds until the whole burst is available again
    vetoed: bool = False  # the `unless_set` key existed: refused, and not counted

    @property
    def headers(self) -> dict[str, str]:
        headers = {
            "RateLimit-Policy": self.limit.policy,
            "RateLimit": f'"{self.limit.name}";r={self.remaining};t={self.reset}',
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


def _seconds(milliseconds: int) -> int:
    return max(0, math.ceil(milliseconds / 1000))


class RateLimiter:
    def __init__(self, redis: Redis, prefix: str = PREFIX) -> None:
        self.redis = redis
        self.prefix = prefix
        self._gcra = redis.register_script(_GCRA)

    async def check(self, limit: Limit, key: str, *, unless_set: str | None = None) -> Decision:
        """Count one event for `key` if it fits; the decision either way (never raises 429).
        With `unless_set`, a Redis key whose existence refuses the event first (`vetoed`)."""
        redis_key = f"{self.prefix}{limit.name}:{key or 'unknown'}"
        keys = [redis_key] if unless_set is None else [redis_key, unless_set]
        try:
            result: list[Any] = await self._gcra(
                keys=keys, args=[limit.limit, limit.period_seconds * 1000]
            )
        except RedisError as exc:
            raise ServiceUnavailable("This cannot be done right now; try again shortly.") from exc
        allowed, remaining, retry_ms, reset_ms = (int(v) for v in result)
        if allowed < 0:
            return Decision(limit, False, 0, 0, 0, vetoed=True)
        return Decision(
            limit,
            bool(allowed),
            remaining,
            max(1, _seconds(retry_ms)) if not allowed else 0,
            _seconds(reset_ms),
        )

    async def hit(
        self, limit: Limit, key: str, *, enforce: bool = True, unless_set: str | None = None
    ) -> Decision:
        """Count one event; over the limit a 429 with the headers (or, unless `enforce`, the no).
        A vetoed event (see `check`) is returned, never raised: its caller knows what it means."""
        decision = await self.check(limit, key, unless_set=unless_set)
        if not decision.allowed and not decision.vetoed and enforce:
            REFUSALS.labels("rate_limited", limit.name).inc()
            raise RateLimited(
                limit.message, retry_after=decision.retry_after, headers=decision.headers
            )
        return decision


def write_limits(s: KitSettings) -> dict[str, Limit]:
    """The per-user limits on costly writes (paid model calls, outgoing requests, image work)."""
    limits = [
        Limit(
            "messages",
            s.messages_per_minute,
            60,
            "You are sending messages too fast; wait a moment.",
        ),
        Limit(
            "regenerations",
            s.regenerations_per_minute,
            60,
            "Too many regenerated answers; wait a moment.",
        ),
        Limit("dialogs", s.dialogs_per_minute, 60, "Too many new dialogs; wait a moment."),
        Limit(
            "webhook-tests",
            s.webhook_tests_per_minute,
            60,
            "Too many test deliveries; wait a moment.",
        ),
        Limit(
            "avatars", s.avatar_uploads_per_hour, 3600, "Too many avatar uploads; try again later."
        ),
        Limit(
            "invitations", s.invitations_per_hour, 3600, "Too many invitations; try again later."
        ),
    ]
    return {limit.name: limit for limit in limits if limit.limit > 0}
