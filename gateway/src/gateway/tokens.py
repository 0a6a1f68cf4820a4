"""Access-token checks and the refresh cookie (docs/DESIGN.md §3).

The gateway verifies access tokens (signature, `kid`, `aud`, `iss`, expiry) and refuses tokens of
revoked sessions at once, using the revocation set auth writes to Redis. It owns the refresh
cookie: refresh tokens in auth's JSON become an HttpOnly cookie (never visible to JavaScript)
unless the client asked for `Parley-Token-Transport: body`; the cookie endpoints demand the
CSRF header and an allowed Origin.
"""

from __future__ import annotations

import json
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import Response

from gateway.config import Settings
from kit import account_state
from kit.errors import Forbidden, ServiceUnavailable, Unauthorized
from kit.jwt import AccessClaims, JWKSVerifier, bearer_token

CSRF_HEADER = "x-parley-csrf"
TRANSPORT_HEADER = "parley-token-transport"
COOKIE_PATH = "/api/auth"


class AccessVerifier:
    """Checks the access token of every proxied request.

    The token itself is checked by `JWKSVerifier` (which keeps each verified token until it
    expires); the session's revocation is looked up in Redis on every request, so a logout or a
    revoked family takes effect at once. Redis unreachable means 503, never "let it through".
    """

    def __init__(self, verifier: JWKSVerifier, redis: Redis) -> None:
        self.verifier = verifier
        self.redis = redis

    async def verify(self, authorization: str | None) -> AccessClaims:
        """The claims of a valid token of a live session (both checks, one after the other)."""
        claims = await self.claims(authorization)
        await self.check_not_revoked(claims)
        return claims

    async def claims(self, authorization: str | None) -> AccessClaims:
        """Signature, algorithm, kid, issuer, audience, type and lifetime; no revocation check."""
        return await self.verifier.verify(bearer_token(authorization))

    async def check_not_revoked(self, claims: AccessClaims) -> None:
        try:
            revoked = await self.redis.exists(account_state.revoked_session_key(claims.session_id))
        except RedisError as exc:
            raise ServiceUnavailable("Sessions cannot be checked right now; try again.") from exc
        if revoked:
            raise Unauthorized("This session has ended; sign in again.", code="session_revoked")


def wants_body_transport(request: Request) -> bool:
    return request.headers.get(TRANSPORT_HEADER, "").lower() == "body"


def allowed_origins(settings: Settings) -> set[str]:
    public = settings.public_url.rstrip("/")
    return {public, *settings.cors_origins}


def cookie_to_body(request: Request, body: bytes, settings: Settings) -> bytes:
    """For a cookie-authenticated call, check CSRF and put the cookie's token in the body."""
    if wants_body_transport(request):
        return body
    if request.headers.get(CSRF_HEADER) != "1":
        raise Forbidden("Missing the X-Parley-CSRF header.", code="csrf_failed")
    origin = request.headers.get("origin")
    if origin is not None and origin.rstrip("/") not in allowed_origins(settings) | {
        _own_origin(request)
    }:
        raise Forbidden("This origin may not use the session cookie.", code="csrf_failed")
    token = request.cookies.get(settings.cookie_name)
    if not token:
        if request.url.path.endswith("/logout"):
            return b""
        raise Unauthorized("No session cookie; sign in again.", code="invalid_refresh_token")
    return json.dumps({"refresh_token": token}).encode()


def _own_origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def set_refresh_cookie(response: Response, settings: Settings, token: str, max_age: int) -> None:
    response.set_cookie(
        settings.cookie_name,
        token,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",
    )


def clear_refresh_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        settings.cookie_name,
        path=COOKIE_PATH,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",
    )


def move_token_to_cookie(payload: dict[str, Any]) -> str | None:
    """Take the refresh token out of auth's JSON (the browser must never see it)."""
    token = payload.pop("refresh_token", None)
    return token if isinstance(token, str) else None
