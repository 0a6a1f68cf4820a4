"""API keys in auth: made, listed, revoked, and traded for a short-lived token (§11)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, get_args

import httpx
import pytest

from auth_service.api_keys.schemas import Scope
from auth_service.models import ApiKey
from kit import account_state
from kit import api_keys as keys
from kit.jwt import KEY_SCOPES

from .conftest import Api
from .test_admin import staff  # noqa: F401  (fixture)

INTERNAL_TOKEN = "internal-test-token"


@pytest.fixture
async def api(auth_variant: Any) -> AsyncIterator[Api]:
    """Auth with an internal token, so the gateway's exchange can be called as the gateway."""
    async with auth_variant(internal_token=INTERNAL_TOKEN) as client:
        yield Api(client)


def internal(api: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {INTERNAL_TOKEN}"}


async def exchange(api: Any, key: str) -> httpx.Response:
    return await api.client.post(
        "/internal/keys/exchange", json={"key": key}, headers=internal(api)
    )


async def make_key(api: Any, user: dict[str, Any], **body: Any) -> dict[str, Any]:
    response = await api.client.post("/api/keys", json={"name": "ci", **body}, headers=user["auth"])
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_the_scopes_auth_accepts_are_the_ones_tokens_carry() -> None:
    assert get_args(Scope) == KEY_SCOPES


class TestKeys:
    async def test_shown_once_stored_hashed_listed_without_the_key(self, api: Any) -> None:
        user = await api.register()
        created = await make_key(api, user, name="nightly report")
        key = created["key"]
        assert keys.well_formed(key)
        assert len(key) >= 35
        assert created["prefix"] == key[: keys.PREFIX_LENGTH]
        assert created["scopes"] == ["chat", "read", "webhooks"]
        assert created["expires_at"] is None
        assert created["last_used_at"] is None
        async with api.runtime.db.session() as session:
            row = await session.get(ApiKey, uuid.UUID(created["id"]))
        assert row is not None
        assert row.key_hash == keys.digest(key)
        assert key not in repr(row)
        listing = (await api.client.get("/api/keys", headers=user["auth"])).json()["data"]
        assert [k["id"] for k in listing] == [created["id"]]
        assert "key" not in listing[0]
        assert listing[0]["name"] == "nightly report"
        # nobody else sees or revokes it
        other = await api.register()
        assert (await api.client.get("/api/keys", headers=other["auth"])).json()["data"] == []
        gone = await api.client.delete(f"/api/keys/{created['id']}", headers=other["auth"])
        assert gone.status_code == 404
        assert gone.json()["code"] == "api_key_not_found"

    async def test_exchange_gives_a_short_token_of_the_key_and_records_use(self, api: Any) -> None:
        user = await api.register()
        created = await make_key(api, user, scopes=["read", "chat", "read"])
        assert created["scopes"] == ["chat", "read"]
        traded = await exchange(api, created["key"])
        assert traded.status_code == 200, traded.text
        assert 0 < traded.json()["expires_in"] <= 60
        claims = await api.runtime.verifier.verify(traded.json()["access_token"])
        assert claims.user_id == uuid.UUID(user["user"]["id"])
        assert claims.key_id == claims.session_id == uuid.UUID(created["id"])
        assert claims.scopes == frozenset({"chat", "read"})
        assert claims.staff is False
        listing = (await api.client.get("/api/keys", headers=user["auth"])).json()["data"]
        assert listing[0]["last_used_at"] is not None

    async def test_a_key_token_is_refused_by_every_auth_endpoint(self, api: Any) -> None:
        user = await api.register()
        token = (await exchange(api, (await make_key(api, user))["key"])).json()["access_token"]
        for method, path in (
            ("GET", "/api/keys"),
            ("GET", "/api/users/me"),
            ("POST", "/api/auth/password/change"),
            ("GET", "/api/auth/sessions"),
        ):
            response = await api.client.request(method, path, headers=api.bearer(token), json={})
            assert response.status_code == 403, (path, response.text)
            assert response.json()["code"] == "api_key_not_allowed"

    @pytest.mark.parametrize(
        "presented",
        ["pk_" + "A" * 40, "pk_short", "not-a-key", "pk_" + "é" * 40, "pk_" + "a" * 400],
    )
    async def test_unknown_or_malformed_keys(self, api: Any, presented: str) -> None:
        refused = await exchange(api, presented)
        assert refused.status_code == 401
        assert refused.json()["code"] == "invalid_api_key"

    async def test_revoked_key_is_refused_and_marked_for_the_gateway(self, api: Any) -> None:
        user = await api.register()
        created = await make_key(api, user)
        revoke = await api.client.delete(f"/api/keys/{created['id']}", headers=user["auth"])
        assert revoke.status_code == 204
        assert await api.runtime.redis.exists(
            account_state.revoked_session_key(uuid.UUID(created["id"]))
        )
        refused = await exchange(api, created["key"])
        assert refused.status_code == 401
        assert refused.json()["code"] == "invalid_api_key"
        assert (await api.client.get("/api/keys", headers=user["auth"])).json()["data"] == []

    async def test_expiry(self, api: Any) -> None:
        user = await api.register()
        soon = datetime.now(UTC) + timedelta(seconds=20)
        created = await make_key(api, user, expires_at=soon.isoformat())
        traded = (await exchange(api, created["key"])).json()
        assert traded["expires_in"] <= 20  # the token never outlives its key
        async with api.runtime.db.session() as session:
            row = await session.get(ApiKey, uuid.UUID(created["id"]))
            assert row is not None
            row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
            session.add(row)
            await session.commit()
        refused = await exchange(api, created["key"])
        assert refused.status_code == 401
        assert refused.json()["code"] == "invalid_api_key"
        past = await api.client.post(
            "/api/keys",
            json={"name": "old", "expires_at": "2020-01-01T00:00:00Z"},
            headers=user["auth"],
        )
        assert past.status_code == 422
        assert "expires_at" in past.json()["errors"]

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"name": ""}, "name"),
            ({"name": "x" * 65}, "name"),
            ({"name": "ok", "scopes": []}, "scopes"),
            ({"name": "ok", "scopes": ["admin"]}, "scopes"),
            ({"name": "ok", "expires_at": "2030-01-01T00:00:00"}, "expires_at"),
        ],
    )
    async def test_bad_input(self, api: Any, body: dict[str, Any], field: str) -> None:
        user = await api.register()
        response = await api.client.post("/api/keys", json=body, headers=user["auth"])
        assert response.status_code == 422, response.text
        assert field in {name.split(".")[0] for name in response.json()["errors"]}
        assert (await api.client.get("/api/keys", headers=user["auth"])).json()["data"] == []

    async def test_deactivated_account_keys_stop(
        self,
        api: Any,
        staff: dict[str, Any],  # noqa: F811  (the fixture)
    ) -> None:
        user = await api.register()
        created = await make_key(api, user)
        deactivate = await api.client.patch(
            f"/api/admin/users/{user['user']['id']}",
            json={"is_active": False},
            headers=staff["auth"],
        )
        assert deactivate.status_code == 200
        assert await api.runtime.redis.exists(
            account_state.revoked_session_key(uuid.UUID(created["id"]))
        )
        refused = await exchange(api, created["key"])
        assert refused.status_code == 401
        assert refused.json()["code"] == "invalid_api_key"

    async def test_exchange_is_internal_only(self, api: Any) -> None:
        user = await api.register()
        created = await make_key(api, user)
        response = await api.client.post("/internal/keys/exchange", json={"key": created["key"]})
        assert response.status_code == 401
