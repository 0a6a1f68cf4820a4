"""A program's life with an API key, through the gateway to the real auth and chat (§11)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from gateway.main import build_app

from .conftest import Gw, bearer, browser_for


async def make_key(gw: Gw, user: dict[str, Any], **body: Any) -> dict[str, Any]:
    response = await gw.client.post("/api/keys", json={"name": "bot", **body}, headers=user["auth"])
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    created["auth"] = bearer(created["key"])
    return created


def refused(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["code"] == code, response.text


class TestApiKeys:
    async def test_a_program_works_with_a_key_alone_until_it_is_revoked(self, gw: Gw) -> None:
        user = await gw.register()
        key = await make_key(gw, user)
        program = gw.client
        created = await program.post("/api/dialogs", json={"name": "nightly"}, headers=key["auth"])
        assert created.status_code == 201, created.text
        assert created.json()["user_id"] == user["user"]["id"]  # chat knows the key's user
        listed = await program.get("/api/dialogs", headers=key["auth"])
        assert [d["name"] for d in listed.json()["data"]] == ["nightly"]
        assert listed.headers["cache-control"] == "no-store"
        assert (await program.get("/api/models", headers=key["auth"])).status_code == 200
        # the person sees the key used
        keys = (await gw.client.get("/api/keys", headers=user["auth"])).json()["data"]
        assert keys[0]["last_used_at"] is not None
        revoked = await gw.client.delete(f"/api/keys/{key['id']}", headers=user["auth"])
        assert revoked.status_code == 204
        started = time.monotonic()
        refused(await program.get("/api/dialogs", headers=key["auth"]), 401, "invalid_api_key")
        refused(
            await program.post("/api/dialogs", json={"name": "x"}, headers=key["auth"]),
            401,
            "invalid_api_key",
        )
        assert time.monotonic() - started < 1.0
        # the person's own session is untouched
        assert (await gw.client.get("/api/dialogs", headers=user["auth"])).status_code == 200

    async def test_never_for_keys_password_account_or_admin(self, gw: Gw) -> None:
        user = await gw.register()
        key = await make_key(gw, user)
        for method, path in (
            ("GET", "/api/keys"),
            ("POST", "/api/keys"),
            ("GET", "/api/users/me"),
            ("DELETE", "/api/users/me"),
            ("POST", "/api/auth/password/change"),
            ("POST", "/api/auth/logout-all"),
            ("GET", "/api/auth/sessions"),
            ("GET", "/api/admin/users"),
            ("GET", "/api/admin/usage"),
            ("PUT", f"/api/admin/users/{user['user']['id']}/budget"),
            ("PUT", "/api/users/me/avatar"),
        ):
            response = await gw.client.request(method, path, headers=key["auth"], json={})
            refused(response, 403, "api_key_not_allowed")

    async def test_scopes(self, gw: Gw) -> None:
        user = await gw.register()
        reader = await make_key(gw, user, scopes=["read"])
        assert (await gw.client.get("/api/dialogs", headers=reader["auth"])).status_code == 200
        assert (await gw.client.get("/api/webhooks", headers=reader["auth"])).status_code == 200
        assert (await gw.client.get("/api/usage", headers=reader["auth"])).status_code == 200
        refused(
            await gw.client.post("/api/dialogs", json={"name": "x"}, headers=reader["auth"]),
            403,
            "insufficient_scope",
        )
        hooks = await make_key(gw, user, scopes=["webhooks"])
        for path in ("/api/dialogs", "/api/usage"):
            refused(await gw.client.get(path, headers=hooks["auth"]), 403, "insufficient_scope")
        made = await gw.client.post(
            "/api/webhooks",
            json={"url": "https://hooks.example/parley", "events": ["message.completed"]},
            headers=hooks["auth"],
        )
        assert made.status_code != 403, made.text  # the scope lets it through to chat's rules
        chat = await make_key(gw, user, scopes=["chat"])
        refused(
            await gw.client.post(
                "/api/webhooks",
                json={"url": "https://hooks.example/parley", "events": ["message.completed"]},
                headers=chat["auth"],
            ),
            403,
            "insufficient_scope",
        )
        # nothing was created by a refused call
        dialogs = (await gw.client.get("/api/dialogs", headers=user["auth"])).json()["data"]
        assert dialogs == []

    async def test_expired_key_is_refused(self, gw: Gw) -> None:
        user = await gw.register()
        ends = datetime.now(UTC) + timedelta(seconds=2)
        key = await make_key(gw, user, expires_at=ends.isoformat())
        assert (await gw.client.get("/api/dialogs", headers=key["auth"])).status_code == 200
        await asyncio.sleep(max(0.0, (ends - datetime.now(UTC)).total_seconds()) + 0.2)
        refused(await gw.client.get("/api/dialogs", headers=key["auth"]), 401, "invalid_api_key")

    async def test_unknown_and_malformed_keys(self, gw: Gw) -> None:
        for made_up in ("pk_" + "Z" * 40, "pk_", "pk_not a key"):
            response = await gw.client.get("/api/dialogs", headers=bearer(made_up))
            refused(response, 401, "invalid_api_key")

    async def test_per_key_request_limit(self, gateway_settings: Any, gw: Gw) -> None:
        user = await gw.register()
        key = await make_key(gw, user)
        other = await make_key(gw, user)
        settings = gateway_settings.model_copy(update={"api_key_requests_per_minute": 3})
        app: FastAPI = build_app(settings, serve_metrics=False)
        async with app.router.lifespan_context(app), browser_for(app) as client:
            for _ in range(3):
                assert (await client.get("/api/models", headers=key["auth"])).status_code == 200
            limited = await client.get("/api/models", headers=key["auth"])
            refused(limited, 429, "rate_limited")
            assert int(limited.headers["retry-after"]) >= 1
            assert limited.headers["ratelimit-policy"] == '"api-key";q=3;w=60'
            # another key of the same person has its own budget; the person's session none
            assert (await client.get("/api/models", headers=other["auth"])).status_code == 200
            for _ in range(5):
                assert (await client.get("/api/models", headers=user["auth"])).status_code == 200


class TestOpenAIPaths:
    async def test_v1_takes_a_key_and_answers_errors_in_openais_shape(self, gw: Gw) -> None:
        anonymous = await gw.client.get("/v1/models")
        assert anonymous.status_code == 401
        assert anonymous.json()["error"]["type"] == "authentication_error"
        made_up = await gw.client.get("/v1/models", headers=bearer("pk_" + "Q" * 40))
        assert made_up.json()["error"]["code"] == "invalid_api_key"
        user = await gw.register()
        key = await make_key(gw, user)
        listed = await gw.client.get("/v1/models", headers=key["auth"])
        assert listed.status_code == 200
        assert listed.json()["object"] == "list"
        missing = await gw.client.get("/v1/no-such-thing", headers=key["auth"])
        assert missing.status_code == 404
        assert set(missing.json()["error"]) == {"message", "type", "param", "code"}
        # climbing out of /v1 reaches nothing a key may not (a client may resolve the dots)
        for dots in ("/v1/../api/users/me", "/v1/%2e%2e/api/keys"):
            assert (await gw.client.get(dots, headers=key["auth"])).status_code in (403, 404)
