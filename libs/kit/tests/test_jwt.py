"""Access tokens: one algorithm, issuer/audience/type checks, JWKS cache and rotation."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kit.jwt import (
    AccessClaims,
    InvalidToken,
    JWKSVerifier,
    generate_private_key,
    key_id,
    public_jwk,
    sign_access_token,
)

ISSUER = "parley"
AUDIENCE = "parley-api"


class JWKSSource:
    """An async JWKS source whose keys can be rotated, counting how often it is fetched."""

    def __init__(self, *keys: Ed25519PrivateKey) -> None:
        self.keys = list(keys)
        self.calls = 0
        self.error: Exception | None = None

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return {"keys": [public_jwk(key.public_key()) for key in self.keys]}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def token(key: Ed25519PrivateKey, **overrides: Any) -> str:
    values: dict[str, Any] = {
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "user_id": uuid.uuid4(),
        "session_id": uuid.uuid4(),
        "email_confirmed": True,
        "staff": False,
        "lifetime": timedelta(minutes=15),
    }
    values.update(overrides)
    return sign_access_token(key, **values)


def claims_of(raw: str) -> dict[str, Any]:
    payload = raw.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))  # type: ignore[no-any-return]


def resign(key: Ed25519PrivateKey, claims: dict[str, Any]) -> str:
    return pyjwt.encode(claims, key, algorithm="EdDSA", headers={"kid": key_id(key.public_key())})


async def refused(verifier: JWKSVerifier, raw: str) -> InvalidToken:
    with pytest.raises(InvalidToken) as info:
        await verifier.verify(raw)
    error = info.value
    assert error.status_code == 401
    assert error.headers["WWW-Authenticate"] == "Bearer"
    return error


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return generate_private_key()


@pytest.fixture
def source(key: Ed25519PrivateKey) -> JWKSSource:
    return JWKSSource(key)


@pytest.fixture
def verifier(source: JWKSSource) -> JWKSVerifier:
    return JWKSVerifier(source, issuer=ISSUER, audience=AUDIENCE)


class TestValidToken:
    async def test_claims_are_returned(
        self, key: Ed25519PrivateKey, verifier: JWKSVerifier
    ) -> None:
        user_id, session_id = uuid.uuid4(), uuid.uuid4()
        now = datetime.now(UTC).replace(microsecond=0)
        raw = token(
            key, user_id=user_id, session_id=session_id, staff=True, email_confirmed=False, now=now
        )

        claims = await verifier.verify(raw)

        assert isinstance(claims, AccessClaims)
        assert claims.user_id == user_id
        assert claims.session_id == session_id
        assert claims.staff is True
        assert claims.email_confirmed is False
        assert claims.expires_at == now + timedelta(minutes=15)
        assert claims.token_id == claims_of(raw)["jti"]

    async def test_header_names_the_single_algorithm_and_the_key(
        self, key: Ed25519PrivateKey
    ) -> None:
        header = pyjwt.get_unverified_header(token(key))
        assert header["alg"] == "EdDSA"
        assert header["kid"] == public_jwk(key.public_key())["kid"]
        assert claims_of(token(key))["typ"] == "access"

    async def test_iat_within_leeway_is_accepted(
        self, key: Ed25519PrivateKey, verifier: JWKSVerifier
    ) -> None:
        raw = token(key, now=datetime.now(UTC) + timedelta(seconds=2))
        assert (await verifier.verify(raw)).user_id


class TestRefusedTokens:
    async def test_alg_none(self, key: Ed25519PrivateKey, verifier: JWKSVerifier) -> None:
        claims = claims_of(token(key))
        header = {"alg": "none", "typ": "JWT", "kid": key_id(key.public_key())}
        await refused(verifier, f"{b64json(header)}.{b64json(claims)}.")

    @pytest.mark.parametrize("encoding", ["pem", "raw"])
    async def test_hs256_signed_with_the_public_key(
        self, key: Ed25519PrivateKey, verifier: JWKSVerifier, source: JWKSSource, encoding: str
    ) -> None:
        public = key.public_key()
        secret = (
            public.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            if encoding == "pem"
            else public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        )
        header = {"alg": "HS256", "typ": "JWT", "kid": key_id(public)}
        signing_input = f"{b64json(header)}.{b64json(claims_of(token(key)))}"
        signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        assert (await verifier.verify(token(key))).user_id  # the key is known and cached

        await refused(verifier, f"{signing_input}.{b64url(signature)}")

    async def test_tampered_payload(self, key: Ed25519PrivateKey, verifier: JWKSVerifier) -> None:
        header, _, signature = token(key).split(".")
        claims = claims_of(token(key))
        claims["staff"] = True
        error = await refused(verifier, f"{header}.{b64json(claims)}.{signature}")
        assert error.code == "invalid_token"

    async def test_signed_by_another_key_under_a_known_kid(
        self, key: Ed25519PrivateKey, verifier: JWKSVerifier
    ) -> None:
        impostor = generate_private_key()
        claims = claims_of(token(key))
        forged = pyjwt.encode(
            claims, impostor, algorithm="EdDSA", headers={"kid": key_id(key.public_key())}
        )
        await refused(verifier, forged)

    async def test_expired(self, key: Ed25519PrivateKey, verifier: JWKSVerifier) -> None:
        raw = token(key, now=datetime.now(UTC) - timedelta(hours=1))
        error = await refused(verifier, raw)
        assert error.code == "token_expired"

    async def test_not_yet_valid(self, key: Ed25519PrivateKey, verifier: JWKSVerifier) -> None:
        raw = token(key, now=datetime.now(UTC) + timedelta(minutes=5))
        error = await refused(verifier, raw)
        assert error.code == "invalid_token"

    async def test_wrong_audience(self, key: Ed25519PrivateKey, verifier: JWKSVerifier) -> None:
        await refused(verifier, token(key, audience="someone-else"))

    async def test_wrong_issuer(self, key: Ed25519PrivateKey, verifier: JWKSVerifier) -> None:
        await refused(verifier, token(key, issuer="evil"))

    @pytest.mark.parametrize("typ", ["refresh", None])
    async def test_not_an_access_token(
        self, key: Ed25519PrivateKey, verifier: JWKSVerifier, typ: str | None
    ) -> None:
        claims = claims_of(token(key))
        if typ is None:
            del claims["typ"]
        else:
            claims["typ"] = typ
        await refused(verifier, resign(key, claims))

    @pytest.mark.parametrize("claim", ["sub", "sid", "jti", "exp", "iat"])
    async def test_missing_required_claim(
        self, key: Ed25519PrivateKey, verifier: JWKSVerifier, claim: str
    ) -> None:
        claims = claims_of(token(key))
        del claims[claim]
        await refused(verifier, resign(key, claims))

    async def test_subject_that_is_not_a_uuid(
        self, key: Ed25519PrivateKey, verifier: JWKSVerifier
    ) -> None:
        claims = claims_of(token(key))
        claims["sub"] = "admin"
        await refused(verifier, resign(key, claims))

    async def test_no_kid(self, key: Ed25519PrivateKey, verifier: JWKSVerifier) -> None:
        await refused(verifier, pyjwt.encode(claims_of(token(key)), key, algorithm="EdDSA"))

    @pytest.mark.parametrize("exp", [10**12, 2**53, 10**30])
    async def test_exp_beyond_any_date(
        self, key: Ed25519PrivateKey, verifier: JWKSVerifier, exp: int
    ) -> None:
        claims = claims_of(token(key))
        claims["exp"] = exp
        error = await refused(verifier, resign(key, claims))
        assert error.code == "invalid_token"

    @pytest.mark.parametrize("suffix", ["=", "==", "\n"])
    async def test_only_the_exact_issued_string(
        self, key: Ed25519PrivateKey, verifier: JWKSVerifier, suffix: str
    ) -> None:
        raw = token(key)
        await verifier.verify(raw)
        await refused(verifier, raw + suffix)

    async def test_signature_with_stray_low_bits(
        self, key: Ed25519PrivateKey, verifier: JWKSVerifier
    ) -> None:
        raw = token(key)
        head, body, signature = raw.split(".")
        # 64 bytes encode to 86 characters: the last one carries 4 unused low bits
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        last = alphabet.index(signature[-1])
        twin = signature[:-1] + alphabet[last ^ 1]
        assert base64.urlsafe_b64decode(twin + "==") == base64.urlsafe_b64decode(signature + "==")
        await refused(verifier, f"{head}.{body}.{twin}")

    @pytest.mark.parametrize("raw", ["", "not-a-token", "a.b.c", "a.b"])
    async def test_malformed(self, verifier: JWKSVerifier, raw: str) -> None:
        await refused(verifier, raw)


class TestKeySource:
    async def test_keys_are_fetched_once_and_cached(
        self, key: Ed25519PrivateKey, verifier: JWKSVerifier, source: JWKSSource
    ) -> None:
        for _ in range(5):
            await verifier.verify(token(key))
        assert source.calls == 1

    async def test_rotation_unknown_kid_refetches_once_and_old_key_still_verifies(
        self, key: Ed25519PrivateKey, source: JWKSSource
    ) -> None:
        verifier = JWKSVerifier(source, issuer=ISSUER, audience=AUDIENCE, min_refetch_seconds=0.5)
        old_token = token(key)
        await verifier.verify(old_token)
        assert source.calls == 1

        new_key = generate_private_key()
        source.keys = [
            new_key,
            key,
        ]  # auth rotated: signs with the new key, still publishes the old
        await asyncio.sleep(0.55)

        new_token = token(new_key)
        assert (await verifier.verify(new_token)).token_id == claims_of(new_token)["jti"]
        assert source.calls == 2
        await verifier.verify(new_token)
        assert (await verifier.verify(old_token)).token_id == claims_of(old_token)["jti"]
        assert source.calls == 2

    async def test_key_rotated_in_right_after_a_fetch_waits_for_the_refetch_interval(
        self, key: Ed25519PrivateKey, source: JWKSSource
    ) -> None:
        verifier = JWKSVerifier(source, issuer=ISSUER, audience=AUDIENCE, min_refetch_seconds=0.5)
        await verifier.verify(token(key))
        new_key = generate_private_key()
        source.keys = [new_key, key]

        await refused(verifier, token(new_key))  # fetched too recently to fetch again
        assert source.calls == 1
        await asyncio.sleep(0.55)
        await verifier.verify(token(new_key))
        assert source.calls == 2

    async def test_flood_of_unknown_kids_refetches_at_most_once_per_interval(
        self, key: Ed25519PrivateKey, source: JWKSSource
    ) -> None:
        verifier = JWKSVerifier(source, issuer=ISSUER, audience=AUDIENCE, min_refetch_seconds=0.5)
        await verifier.verify(token(key))
        await asyncio.sleep(0.55)

        strangers = [token(generate_private_key()) for _ in range(30)]
        results = await asyncio.gather(
            *(verifier.verify(raw) for raw in strangers), return_exceptions=True
        )
        assert all(isinstance(result, InvalidToken) for result in results)
        assert source.calls == 2  # one refetch for the whole flood
        for raw in strangers:
            await refused(verifier, raw)
        assert source.calls == 2

        await asyncio.sleep(0.55)
        await refused(verifier, strangers[0])
        assert source.calls == 3
        assert (await verifier.verify(token(key))).user_id  # the real key still works

    async def test_unreachable_source_refuses_then_recovers(
        self, key: Ed25519PrivateKey, source: JWKSSource, verifier: JWKSVerifier
    ) -> None:
        source.error = httpx.ConnectError("auth is down")
        error = await refused(verifier, token(key))
        assert "unavailable" in error.message

        source.error = None
        assert (await verifier.verify(token(key))).user_id
        assert source.calls == 2

    async def test_cached_keys_survive_a_failed_refetch(
        self, key: Ed25519PrivateKey, source: JWKSSource
    ) -> None:
        verifier = JWKSVerifier(source, issuer=ISSUER, audience=AUDIENCE, min_refetch_seconds=0)
        await verifier.verify(token(key))
        source.error = httpx.ConnectError("auth is down")
        await refused(verifier, token(generate_private_key()))  # unknown kid: refetch fails
        assert source.calls == 2
        assert (await verifier.verify(token(key))).user_id

    async def test_malformed_key_in_the_jwks_is_skipped(self, key: Ed25519PrivateKey) -> None:
        async def source() -> dict[str, Any]:
            broken = {"kty": "OKP", "crv": "Ed25519", "kid": "broken", "x": "AAAA"}
            return {"keys": [broken, public_jwk(key.public_key())]}

        verifier = JWKSVerifier(source, issuer=ISSUER, audience=AUDIENCE)
        assert (await verifier.verify(token(key))).user_id
