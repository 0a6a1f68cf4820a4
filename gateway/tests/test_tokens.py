"""Forged, altered and out-of-date access tokens are refused at the gateway."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from auth_service.keys import KeyRing
from kit import jwt as kjwt


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"


@pytest.fixture
def keyring(services: Any) -> KeyRing:
    return KeyRing(services.tmp / "keys").load(create=False)


@pytest.fixture
async def victim(gw: Any) -> dict[str, Any]:
    return await gw.register()


def claims_for(victim: dict[str, Any], **changes: Any) -> dict[str, Any]:
    payload = jwt.decode(victim["access_token"], options={"verify_signature": False})
    payload.update(changes)
    return {k: v for k, v in payload.items() if v is not None}


def sign(keyring: KeyRing, claims: dict[str, Any], **header: Any) -> str:
    key = keyring.signing
    return jwt.encode(
        claims, key, algorithm="EdDSA", headers={"kid": kjwt.key_id(key.public_key()), **header}
    )


async def assert_refused(
    gateway: httpx.AsyncClient, token: str, code: str = "invalid_token"
) -> None:
    for path in ("/api/dialogs", "/api/users/me"):
        response = await gateway.get(path, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == code
        assert response.headers["www-authenticate"] == "Bearer"


class TestForgedTokens:
    async def test_our_own_signature_is_accepted(
        self, gateway: httpx.AsyncClient, keyring: KeyRing, victim: dict[str, Any]
    ) -> None:
        """The control: a token signed by the real key with good claims passes."""
        token = sign(keyring, claims_for(victim, jti=uuid.uuid4().hex))
        assert (
            await gateway.get("/api/dialogs", headers={"Authorization": f"Bearer {token}"})
        ).status_code == 200

    async def test_alg_none(
        self, gateway: httpx.AsyncClient, keyring: KeyRing, victim: dict[str, Any]
    ) -> None:
        kid = kjwt.key_id(keyring.signing.public_key())
        for alg in ("none", "None", "NONE"):
            token = unsigned({"alg": alg, "kid": kid, "typ": "JWT"}, claims_for(victim)) + "."
            await assert_refused(gateway, token)

    async def test_hs256_signed_with_the_public_key(
        self, gateway: httpx.AsyncClient, keyring: KeyRing, victim: dict[str, Any]
    ) -> None:
        public = keyring.signing.public_key()
        kid = kjwt.key_id(public)
        secrets = [
            public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw),
            public.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
            kjwt.public_jwk(public)["x"].encode(),
            json.dumps(kjwt.public_jwk(public)).encode(),
        ]
        for secret in secrets:
            head = unsigned(
                {"alg": "HS256", "kid": kid, "typ": "JWT"}, claims_for(victim, staff=True)
            )
            signature = hmac.new(secret, head.encode(), hashlib.sha256).digest()
            await assert_refused(gateway, f"{head}.{b64(signature)}")

    async def test_tampered_payload(
        self, gateway: httpx.AsyncClient, gw: Any, victim: dict[str, Any]
    ) -> None:
        other = await gw.register()
        header, _, signature = victim["access_token"].split(".")
        forged_claims = claims_for(victim, sub=other["user"]["id"], staff=True)
        await assert_refused(
            gateway, f"{header}.{b64(json.dumps(forged_claims).encode())}.{signature}"
        )
        # one flipped character in the signature
        flipped = (
            victim["access_token"][:-2]
            + ("A" if victim["access_token"][-2] != "A" else "B")
            + victim["access_token"][-1]
        )
        await assert_refused(gateway, flipped)

    async def test_another_key_with_the_same_kid(
        self, gateway: httpx.AsyncClient, keyring: KeyRing, victim: dict[str, Any]
    ) -> None:
        rogue = kjwt.generate_private_key()
        token = jwt.encode(
            claims_for(victim),
            rogue,
            algorithm="EdDSA",
            headers={"kid": kjwt.key_id(keyring.signing.public_key())},
        )
        await assert_refused(gateway, token)
        unknown_kid = jwt.encode(
            claims_for(victim),
            rogue,
            algorithm="EdDSA",
            headers={"kid": kjwt.key_id(rogue.public_key())},
        )
        await assert_refused(gateway, unknown_kid)


class TestClaims:
    @pytest.mark.parametrize(
        ("changes", "code"),
        [
            ({"exp": int(time.time()) - 60}, "token_expired"),
            ({"iat": int(time.time()) + 600, "exp": int(time.time()) + 1500}, "invalid_token"),
            ({"nbf": int(time.time()) + 600}, "invalid_token"),
            ({"aud": "someone-else"}, "invalid_token"),
            ({"iss": "https://evil.example"}, "invalid_token"),
            ({"typ": "refresh"}, "invalid_token"),
            ({"sid": None}, "invalid_token"),
            ({"exp": None}, "invalid_token"),
            ({"sub": "not-a-uuid"}, "invalid_token"),
        ],
    )
    async def test_bad_claims_are_refused(
        self,
        gateway: httpx.AsyncClient,
        keyring: KeyRing,
        victim: dict[str, Any],
        changes: dict[str, Any],
        code: str,
    ) -> None:
        await assert_refused(gateway, sign(keyring, claims_for(victim, **changes)), code)

    async def test_garbage(self, gateway: httpx.AsyncClient) -> None:
        for value in (
            "Bearer",
            "Bearer a.b.c",
            "Basic dXNlcjpwYXNz",
            "Bearer " + "A" * 5000,
            "Bearer ...",
        ):
            response = await gateway.get("/api/dialogs", headers={"Authorization": value})
            assert response.status_code == 401, value
