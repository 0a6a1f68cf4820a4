"""Auth's limits, kept in Redis and shared by every auth process.

Two kinds:

- `AuthLimits`: per-key rates for kit's one limiter (`kit.ratelimit`), e.g. logins per client IP
  or reset mails per account; past the limit the caller gets 429 with `Retry-After`.
- `LoginThrottle`: failed password checks per account. The first `free` failures cost nothing;
  each further one locks the account for an exponentially growing delay (1 s, 2 s, 4 s, ... up to a
  cap), and at most `limit` failures are accepted per window. A success clears both.

Accounts are keyed by a hash of the normalised email, whether or not such an account exists, so a
throttled unknown address behaves exactly like a throttled real one (no enumeration), and Redis
holds no addresses.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from auth_service.config import Settings
from kit.errors import ServiceUnavailable
from kit.ratelimit import PREFIX, Limit, RateLimited

T = TypeVar("T")

# Locked (answer the lock's ms left), or over the failure cap (answer the window's ms left), or 0.
_CHECK = """
local lock = redis.call('PTTL', KEYS[1])
if lock > 0 then return lock end
local count = tonumber(redis.call('GET', KEYS[2]) or '0')
if count >= tonumber(ARGV[1]) then
  local ttl = redis.call('PTTL', KEYS[2])
  if ttl > 0 then return ttl end
end
return 0
"""

# Count a failure; past the free ones, lock for base * 2^(n - free - 1) ms (capped).
_FAIL = """
local count = redis.call('INCR', KEYS[2])
if redis.call('PTTL', KEYS[2]) < 0 then redis.call('PEXPIRE', KEYS[2], ARGV[1]) end
local free = tonumber(ARGV[2])
if count > free then
  local delay = math.min(tonumber(ARGV[3]) * 2 ^ (count - free - 1), tonumber(ARGV[4]))
  redis.call('SET', KEYS[1], '1', 'PX', math.max(1, math.floor(delay)))
end
return count
"""


@dataclass(frozen=True)
class AuthLimits:
    """The fixed-window limits of the auth endpoints, from the settings."""

    login_ip: Limit
    register_ip: Limit
    forgot_ip: Limit
    confirm_mail: Limit
    reset_mail: Limit

    @classmethod
    def from_settings(cls, s: Settings) -> AuthLimits:
        mails = "Too many mails were requested for this account; try again later."
        return cls(
            login_ip=Limit(
                "login-ip",
                s.login_ip_limit,
                s.login_ip_window_seconds,
                "Too many sign-in attempts from your network; try again later.",
            ),
            register_ip=Limit(
                "register-ip",
                s.register_ip_limit,
                s.register_ip_window_seconds,
                "Too many accounts were created from your network; try again later.",
            ),
            forgot_ip=Limit(
                "forgot-ip",
                s.forgot_ip_limit,
                s.forgot_ip_window_seconds,
                "Too many password resets were requested from your network.",
            ),
            confirm_mail=Limit("mail-confirm", s.mail_limit, s.mail_window_seconds, mails),
            reset_mail=Limit("mail-reset", s.mail_limit, s.mail_window_seconds, mails),
        )


def account_key(email: str) -> str:
    """The Redis key part for an account, from its email (hashed, never stored in clear)."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def _seconds(milliseconds: int) -> int:
    return max(1, math.ceil(milliseconds / 1000))


async def _redis(call: Callable[[], Awaitable[T]]) -> T:
    try:
        return await call()
    except RedisError as exc:
        raise ServiceUnavailable("Sign-in is unavailable right now; try again shortly.") from exc


class LoginThrottle:
    def __init__(
        self,
        redis: Redis,
        *,
        limit: int,
        window_seconds: int,
        free: int,
        delay_seconds: float,
        max_delay_seconds: float,
        prefix: str = PREFIX,
    ) -> None:
        self.redis = redis
        self.limit = limit
        self.window_ms = window_seconds * 1000
        self.free = free
        self.delay_ms = delay_seconds * 1000
        self.max_delay_ms = max_delay_seconds * 1000
        self.prefix = prefix
        self._check = redis.register_script(_CHECK)
        self._fail = redis.register_script(_FAIL)

    def _keys(self, account: str) -> list[str]:
        return [f"{self.prefix}login-lock:{account}", f"{self.prefix}login-failures:{account}"]

    async def check(self, account: str) -> None:
        """Refuse (429) while the account is locked or has used up its failures for the window."""
        wait_ms = int(
            await _redis(lambda: self._check(keys=self._keys(account), args=[self.limit]))
        )
        if wait_ms > 0:
            raise RateLimited(
                "Too many failed sign-in attempts; wait a moment and try again.",
                retry_after=_seconds(wait_ms),
            )

    async def failed(self, account: str) -> int:
        args = [self.window_ms, self.free, self.delay_ms, self.max_delay_ms]
        return int(await _redis(lambda: self._fail(keys=self._keys(account), args=args)))

    async def clear(self, account: str) -> None:
        await _redis(lambda: self.redis.delete(*self._keys(account)))

    @classmethod
    def from_settings(cls, redis: Redis, s: Settings) -> LoginThrottle:
        return cls(
            redis,
            limit=s.login_failure_limit,
            window_seconds=s.login_failure_window_seconds,
            free=s.login_free_failures,
            delay_seconds=s.login_delay_seconds,
            max_delay_seconds=s.login_max_delay_seconds,
        )
