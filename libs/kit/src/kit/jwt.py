"""Access tokens: EdDSA (Ed25519) JWTs with a `kid`, verified against auth's JWKS.

Exactly one algorithm is accepted, so `alg: none` and HS256-signed-with-the-public-key tokens are
refused before any key is used. The JWKS is cached and refetched when an unknown `kid` appears
(at most once per `min_refetch_seconds`, so garbage tokens cannot hammer auth).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kit.errors import Unauthorized

ALGORITHM = "EdDSA"
ACCESS_TYPE = "access"
# What an API key may be used for (docs/DESIGN.md §11); a session's token may do everything.
KEY_SCOPES = ("chat", "read", "webhooks")


class InvalidToken(Unauthorized):
    code = "invalid_token"


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    session_id: uuid.UUID
    email_confirmed: bool
    staff: bool
    expires_at: datetime
    token_id: str
    # Set when the token was exchanged for an API key by the gateway: the key's id (also the
    # token's `sid`, so revoking the key revokes its tokens like a session's) and its scopes.
    key_id: uuid.UUID | None = None
    scopes: frozenset[str] = frozenset(KEY_SCOPES)
    # the username when the token was signed: what teammates see as a message's author (§10)
    username: str = ""


# --- signing (auth owns the keys; kept here so both sides share one definition) ---------------


def generate_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_key_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_private_key(pem: bytes) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("signing key must be Ed25519")
    return key


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def key_id(public_key: Ed25519PublicKey) -> str:
    """A stable id derived from the key itself (RFC 7638-style thumbprint)."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    canonical = json.dumps(
        {"crv": "Ed25519", "kty": "OKP", "x": _b64url(raw)}, separators=(",", ":")
    )
    return _b64url(hashlib.sha256(canonical.encode()).digest())[:16]


def public_jwk(public_key: Ed25519PublicKey) -> dict[str, str]:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": _b64url(raw),
        "kid": key_id(public_key),
        "alg": ALGORITHM,
        "use": "sig",
    }


def sign_access_token(
    key: Ed25519PrivateKey,
    *,
    issuer: str,
    audience: str,
    user_id: uuid.UUID,
    session_id: uuid.UUID,
    email_confirmed: bool,
    staff: bool,
    lifetime: timedelta,
    now: datetime | None = None,
    scopes: tuple[str, ...] | None = None,
    username: str = "",
) -> str:
    """A session's access token; with `scopes`, an API key's (its id is the `session_id`)."""
    now = now or datetime.now(UTC)
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": str(user_id),
        "sid": str(session_id),
        "jti": uuid.uuid4().hex,
        "typ": ACCESS_TYPE,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
        "email_confirmed": email_confirmed,
        "staff": staff,
    }
    if username:
        claims["name"] = username
    if scopes is not None:
        claims["key"] = True
        claims["scope"] = " ".join(scopes)
    return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": key_id(key.public_key())})


# --- verification ------------------------------------------------------------------------------


JWKSSource = Callable[[], Awaitable[dict[str, Any]]]


def http_jwks(url: str, http: httpx.AsyncClient) -> JWKSSource:
    """Fetch the JWKS document from `url` (auth's `/.well-known/jwks.json`)."""

    async def fetch() -> dict[str, Any]:
        response = await http.get(url, timeout=5)
        response.raise_for_status()
        document: dict[str, Any] = response.json()
        return document

    return fetch


class JWKSVerifier:
    """Verifies access tokens with the public keys from a JWKS source.

    A verified token is remembered until it expires (keyed by the exact token string, so a
    changed byte is a different token, verified anew): a client sends the same token with every
    request, and checking its signature each time was a tenth of a small request's cost. New
    keys from the source forget every remembered token.
    """

    def __init__(
        self,
        source: JWKSSource,
        *,
        issuer: str,
        audience: str,
        min_refetch_seconds: float = 30.0,
        leeway_seconds: int = 5,
        max_remembered: int = 10_000,
    ) -> None:
        self._source = source
        self._verified: dict[str, AccessClaims] = {}
        self._max_remembered = max_remembered
        self.issuer = issuer
        self.audience = audience
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._fetched_at = float("-inf")
        self._min_refetch = min_refetch_seconds
        self._leeway = leeway_seconds
        self._lock = asyncio.Lock()

    async def _refresh(self, *, force: bool) -> None:
        async with self._lock:
            if not force and self._keys:
                return
            if time.monotonic() - self._fetched_at < self._min_refetch and self._keys:
                return
            try:
                document = await self._source()
            except (httpx.HTTPError, ValueError) as exc:
                if not self._keys:
                    raise InvalidToken("Token keys are unavailable; try again.") from exc
                return
            self._fetched_at = time.monotonic()
            keys: dict[str, Ed25519PublicKey] = {}
            for jwk in document.get("keys", []):
                if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519" and "kid" in jwk:
                    try:
                        raw = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
                        keys[jwk["kid"]] = Ed25519PublicKey.from_public_bytes(raw)
                    except (ValueError, TypeError, KeyError):
                        continue  # one bad key must not break the others
            self._keys = keys
            self._verified.clear()

    async def _key_for(self, kid: str) -> Ed25519PublicKey:
        if kid not in self._keys:
            await self._refresh(force=bool(self._keys))
        try:
            return self._keys[kid]
        except KeyError:
            raise InvalidToken("The token was signed by an unknown key.") from None

    async def verify(self, token: str) -> AccessClaims:
        remembered = self._verified.get(token)
        if remembered is not None and remembered.expires_at.timestamp() > time.time():
            return remembered
        claims = await self._verify(token)
        if len(self._verified) >= self._max_remembered:
            self._verified.pop(next(iter(self._verified)))  # the oldest (dicts keep order)
        self._verified[token] = claims
        return claims

    async def _verify(self, token: str) -> AccessClaims:
        if not is_canonical(token):
            raise InvalidToken("The token is malformed.")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("The token is malformed.") from None
        if header.get("alg") != ALGORITHM:
            raise InvalidToken("The token uses a refused algorithm.")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise InvalidToken("The token has no key id.")
        key = await self._key_for(kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "iss", "aud", "sub", "sid", "jti"]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("The token has expired.", code="token_expired") from None
        except (jwt.PyJWTError, OverflowError, ValueError):
            raise InvalidToken("The token is invalid.") from None
        if claims.get("typ") != ACCESS_TYPE:
            raise InvalidToken("The token is not an access token.")
        if claims["iat"] > time.time() + self._leeway:
            raise InvalidToken("The token is not valid yet.")
        try:
            session_id = uuid.UUID(claims["sid"])
            is_key = claims.get("key") is True
            return AccessClaims(
                user_id=uuid.UUID(claims["sub"]),
                session_id=session_id,
                email_confirmed=bool(claims.get("email_confirmed", False)),
                staff=bool(claims.get("staff", False)) and not is_key,
                expires_at=datetime.fromtimestamp(claims["exp"], UTC),
                token_id=str(claims["jti"]),
                key_id=session_id if is_key else None,
                scopes=(
                    frozenset(str(claims.get("scope", "")).split()) & frozenset(KEY_SCOPES)
                    if is_key
                    else frozenset(KEY_SCOPES)
                ),
                username=str(claims.get("name", "")),
            )
        except (ValueError, TypeError, OverflowError, OSError):
            # an `exp` beyond datetime's range (year 9999) is as invalid as a malformed one
            raise InvalidToken("The token is invalid.") from None


def is_canonical(token: str) -> bool:
    """True if every segment is unpadded base64url that decodes and re-encodes to itself.

    Decoders forgive padding and stray low bits, so `token + "=="` would verify like the
    token; only the exact string that was issued is accepted.
    """
    segments = token.split(".")
    if len(segments) != 3:
        return False
    for segment in segments:
        if not _SEGMENT.fullmatch(segment):
            return False
        try:
            raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        except ValueError:
            return False
        if _b64url(raw) != segment:
            return False
    return True


_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise Unauthorized("Sign in to continue.")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Use an `Authorization: Bearer <token>` header.")
    return token.strip()
