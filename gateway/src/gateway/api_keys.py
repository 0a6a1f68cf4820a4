"""API keys at the gateway (docs/DESIGN.md §11): traded for short-lived access tokens.

A request with `Authorization: Bearer pk_…` never reaches a service with the key: the gateway
asks auth once (`/internal/keys/exchange`) for an access token of the key's user, good for a
minute and never past the key's expiry, keeps it in memory until shortly before it ends, and
forwards that token instead. So chat and auth know every caller one way, from a verified JWT
whose `sid` is the key's id and which carries the key's scopes.

Revocation is checked on every request like a session's (the Redis mark auth sets), so a
revoked key stops at once although its token is cached, in the same Redis call as the key's
request rate (`check_live`); an unknown key is remembered as unknown for a few seconds, so a
flood of made-up keys cannot turn into a flood of calls to auth.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx
from redis.exceptions import RedisError

from gateway import routes
from kit import account_state, api_keys
from kit.errors import Forbidden, ServiceUnavailable
from kit.jwt import AccessClaims, JWKSVerifier
from kit.ratelimit import Limit, RateLimiter

RENEW_BEFORE_SECONDS = 5.0  # a token this close to its end is traded again
UNKNOWN_FOR_SECONDS = 5.0
MAX_REMEMBERED = 10_000


@dataclass(frozen=True)
class Traded:
    token: str
    claims: AccessClaims


class KeyExchange:
    def __init__(
        self,
        http: httpx.AsyncClient,
        auth_url: str,
        internal_token: str,
        verifier: JWKSVerifier,
        limiter: RateLimiter,
        requests_per_minute: int,
    ) -> None:
        self._http = http
        self._limiter = limiter
        self._limit = (
            Limit("api-key", requests_per_minute, 60, "This API key is making too many requests.")
            if requests_per_minute > 0
            else None
        )
        self._url = f"{auth_url.rstrip('/')}/internal/keys/exchange"
        self._internal = {"Authorization": f"Bearer {internal_token}"}
        self._verifier = verifier
        self._traded: dict[str, Traded] = {}
        self._unknown: dict[str, float] = {}  # digest -> until when it is known to be refused
        self._pending: dict[str, asyncio.Future[Traded]] = {}

    async def trade(self, key: str) -> Traded:
        """The access token standing for `key` (from memory while it lasts)."""
        digest = api_keys.digest(key)
        traded = self._traded.get(digest)
        if traded is not None and traded.claims.expires_at.timestamp() > (
            time.time() + RENEW_BEFORE_SECONDS
        ):
            return traded
        if self._unknown.get(digest, 0.0) > time.monotonic():
            raise api_keys.InvalidApiKey()
        pending = self._pending.get(digest)
        if pending is None:  # one call to auth however many requests wait for it
            pending = asyncio.ensure_future(self._ask_auth(key, digest))
            self._pending[digest] = pending
            pending.add_done_callback(lambda _: self._pending.pop(digest, None))
        return await asyncio.shield(pending)

    async def check_live(self, key: str, traded: Traded) -> None:
        """Refuse a revoked key (`invalid_api_key`) or one over its request rate (429), with
        one Redis call: the rate limiter's veto key is the revocation mark."""
        revoked = account_state.revoked_session_key(traded.claims.session_id)
        if self._limit is None:
            try:
                refused = bool(await self._limiter.redis.exists(revoked))
            except RedisError as exc:
                raise ServiceUnavailable("API keys cannot be checked right now.") from exc
        else:
            key_id = str(traded.claims.key_id)
            refused = (await self._limiter.hit(self._limit, key_id, unless_set=revoked)).vetoed
        if refused:
            self._traded.pop(api_keys.digest(key), None)  # the next request asks auth: refused
            raise api_keys.InvalidApiKey()

    async def _ask_auth(self, key: str, digest: str) -> Traded:
        try:
            response = await self._http.post(
                self._url, json={"key": key}, headers=self._internal, timeout=5
            )
        except httpx.HTTPError as exc:
            raise ServiceUnavailable("API keys cannot be checked right now; try again.") from exc
        if response.status_code == 401:
            _bounded(self._unknown)
            self._unknown[digest] = time.monotonic() + UNKNOWN_FOR_SECONDS
            detail = response.json().get("detail")
            raise api_keys.InvalidApiKey(*([detail] if isinstance(detail, str) else []))
        if response.status_code != 200:
            raise ServiceUnavailable("API keys cannot be checked right now; try again.")
        token = str(response.json()["access_token"])
        traded = Traded(token, await self._verifier.verify(token))
        _bounded(self._traded)
        self._traded[digest] = traded
        return traded


def _bounded(remembered: dict[str, Any]) -> None:
    if len(remembered) >= MAX_REMEMBERED:
        remembered.pop(next(iter(remembered)))  # the oldest (dicts keep order)


def check_scope(scope: str | None, method: str, claims: AccessClaims) -> None:
    """A key may call a route whose scope it has, and read (GET) any route open to keys with
    `read`; routes without a scope (keys, password, account, admin) never take a key."""
    if scope is None:
        raise Forbidden("API keys cannot be used for this; sign in.", code="api_key_not_allowed")
    if scope in claims.scopes or (method in routes.SAFE_METHODS and "read" in claims.scopes):
        return
    raise Forbidden(f"This API key lacks the `{scope}` scope.", code="insufficient_scope")
