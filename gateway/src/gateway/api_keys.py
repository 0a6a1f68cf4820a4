"""API keys at the gateway (docs/DESIGN.md §11): traded for short-lived access tokens.

A request with `Authorization: Bearer pk_…` never reaches a service with the key: the gateway
asks auth once (`/internal/keys/exchange`) for an access token of the key's user, good for a
minute and never past the key's expiry, keeps it in memory until shortly before it ends, and
forwards that token instead. So chat and auth know every caller one way, from a verified JWT
whose `sid` is the key's id and which carries the key's scopes.

Revocation is checked on every request like a session's (the Redis mark auth sets), so a
revoked key stops at once although its token is cached; an unknown key is remembered as unknown
for a few seconds, so a flood of made-up keys cannot turn into a flood of calls to auth.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx

from kit import api_keys
from kit.errors import Forbidden, ServiceUnavailable
from kit.jwt import AccessClaims, JWKSVerifier

SAFE_METHODS = frozenset({"GET", "HEAD"})
RENEW_BEFORE_SECONDS = 5.0  # a token this close to its end is traded again
UNKNOWN_FOR_SECONDS = 5.0
MAX_REMEMBERED = 10_000


@dataclass(frozen=True)
class Traded:
    token: str
    claims: AccessClaims


class KeyExchange:
    def __init__(
        self, http: httpx.AsyncClient, auth_url: str, internal_token: str, verifier: JWKSVerifier
    ) -> None:
        self._http = http
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

    def forget(self, key: str) -> None:
        """A key found revoked: drop its token (the next request asks auth, which refuses)."""
        self._traded.pop(api_keys.digest(key), None)

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
    if scope in claims.scopes or (method in SAFE_METHODS and "read" in claims.scopes):
        return
    raise Forbidden(f"This API key lacks the `{scope}` scope.", code="insufficient_scope")
