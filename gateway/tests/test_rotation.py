"""Key rotation end to end: a new key signs, tokens of the old key keep working."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import jwt

from auth_service.config import Settings as AuthSettings
from auth_service.main import build_app as build_auth
from gateway.main import build_app
from parley_testing.servers import serve_asgi


async def test_rotation_through_the_gateway(
    services: Any, gateway_settings: Any, tmp_path: Path, new_account: Any
) -> None:
    auth_app = build_auth(
        AuthSettings(
            AUTH_DATABASE_URL=services.auth_db,
            AUTH_SIGNING_KEYS_DIR=tmp_path / "keys",
            PARLEY_KEY_ACTIVATION_SECONDS=0,
            **services.common,
        )
    )
    with serve_asgi(auth_app) as auth_url:
        settings = gateway_settings.model_copy(
            update={"auth_url": auth_url, "jwks_refetch_seconds": 0}
        )
        app = build_app(settings, serve_metrics=False)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, client=("100.99.0.1", 1))
            async with httpx.AsyncClient(
                transport=transport, base_url="https://parley.example"
            ) as client:
                body = {"Parley-Token-Transport": "body"}
                before = (
                    await client.post("/api/auth/register", json=new_account(), headers=body)
                ).json()
                old_kid = jwt.get_unverified_header(before["access_token"])["kid"]
                # (chat trusts the suite's main auth, not this one: ask auth itself, which both
                # the gateway and auth verify)
                assert (await client.get("/api/users/me", headers=_auth(before))).status_code == 200

                keys = auth_app.state.runtime.keys
                keys.reload_seconds = 0
                time.sleep(0.01)
                keys.rotate()
                jwks = (await client.get("/.well-known/jwks.json")).json()
                assert len(jwks["keys"]) == 2

                after = (
                    await client.post(
                        "/api/auth/refresh",
                        json={"refresh_token": before["refresh_token"]},
                        headers=body,
                    )
                ).json()
                assert jwt.get_unverified_header(after["access_token"])["kid"] != old_kid
                for tokens in (before, after):
                    response = await client.get("/api/users/me", headers=_auth(tokens))
                    assert response.status_code == 200, response.text


def _auth(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}
