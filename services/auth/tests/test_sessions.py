from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlmodel import select

from auth_service.models import AuthSession, RefreshToken
from auth_service.opaque import token_hash


async def _age_token(api: Any, token: str, seconds: float) -> None:
    """Pretend `token` was rotated `seconds` ago."""
    async with api.runtime.db.session() as session:
        record = await session.get(RefreshToken, token_hash(token))
        assert record is not None
        assert record.rotated_at is not None
        record.rotated_at = record.rotated_at - timedelta(seconds=seconds)


class TestRefresh:
    async def test_every_use_rotates(self, api: Any, auth_client: httpx.AsyncClient) -> None:
        first = (await api.register())["refresh_token"]
        second = (await auth_client.post("/api/auth/refresh", json={"refresh_token": first})).json()
        assert second["refresh_token"] not in (None, first)
        third = (
            await auth_client.post(
                "/api/auth/refresh", json={"refresh_token": second["refresh_token"]}
            )
        ).json()
        assert third["refresh_token"] not in (None, second["refresh_token"])

    async def test_racing_tab_within_grace_gets_access_but_no_new_token(
        self, api: Any, auth_client: httpx.AsyncClient
    ) -> None:
        first = (await api.register())["refresh_token"]
        winner = (await auth_client.post("/api/auth/refresh", json={"refresh_token": first})).json()
        loser = await auth_client.post("/api/auth/refresh", json={"refresh_token": first})
        assert loser.status_code == 200
        assert loser.json()["refresh_token"] is None
        assert loser.json()["access_token"]
        # nothing was revoked: the winner's token keeps working
        assert (
            await auth_client.post(
                "/api/auth/refresh", json={"refresh_token": winner["refresh_token"]}
            )
        ).status_code == 200

    async def test_reuse_after_grace_revokes_the_family(
        self, api: Any, auth_client: httpx.AsyncClient
    ) -> None:
        registered = await api.register()
        first = registered["refresh_token"]
        current = (
            await auth_client.post("/api/auth/refresh", json={"refresh_token": first})
        ).json()
        await _age_token(api, first, 11)
        stolen = await auth_client.post("/api/auth/refresh", json={"refresh_token": first})
        assert stolen.status_code == 401
        assert stolen.json()["code"] == "invalid_refresh_token"
        # the legitimate holder is out too, and so are the access tokens of that session
        assert (
            await auth_client.post(
                "/api/auth/refresh", json={"refresh_token": current["refresh_token"]}
            )
        ).status_code == 401
        for access in (registered["access_token"], current["access_token"]):
            assert (
                await auth_client.get("/api/users/me", headers=api.bearer(access))
            ).status_code == 401
        sid = _sid(registered["access_token"])
        assert await api.runtime.redis.exists(f"parley:revoked-session:{sid}")
        ttl = await api.runtime.redis.ttl(f"parley:revoked-session:{sid}")
        assert 900 < ttl <= 960

    async def test_an_older_ancestor_is_reuse_even_within_grace(
        self, api: Any, auth_client: httpx.AsyncClient
    ) -> None:
        first = (await api.register())["refresh_token"]
        second = (
            await auth_client.post("/api/auth/refresh", json={"refresh_token": first})
        ).json()["refresh_token"]
        third = (
            await auth_client.post("/api/auth/refresh", json={"refresh_token": second})
        ).json()["refresh_token"]
        assert (
            await auth_client.post("/api/auth/refresh", json={"refresh_token": first})
        ).status_code == 401
        assert (
            await auth_client.post("/api/auth/refresh", json={"refresh_token": third})
        ).status_code == 401

    async def test_idle_and_absolute_lifetimes(
        self, api: Any, auth_client: httpx.AsyncClient
    ) -> None:
        idle = await api.register()
        absolute = await api.register()
        async with api.runtime.db.session() as session:
            for registered, field in ((idle, "last_used_at"), (absolute, "expires_at")):
                record = await session.get(AuthSession, uuid.UUID(_sid(registered["access_token"])))
                assert record is not None
                delta = timedelta(days=8) if field == "last_used_at" else timedelta(days=31)
                setattr(record, field, getattr(record, field) - delta)
        for registered in (idle, absolute):
            response = await auth_client.post(
                "/api/auth/refresh", json={"refresh_token": registered["refresh_token"]}
            )
            assert response.status_code == 401

    async def test_unknown_token_is_401(self, auth_client: httpx.AsyncClient) -> None:
        response = await auth_client.post("/api/auth/refresh", json={"refresh_token": "nope"})
        assert response.status_code == 401
        assert response.json()["code"] == "invalid_refresh_token"


class TestSessions:
    async def test_list_marks_the_current_one_and_revoke_signs_out(
        self, api: Any, auth_client: httpx.AsyncClient
    ) -> None:
        registered = await api.register()
        other = (await api.login(registered["account"]["email"])).json()
        listed = (await auth_client.get("/api/auth/sessions", headers=registered["auth"])).json()[
            "data"
        ]
        assert len(listed) == 2
        assert {s["current"] for s in listed} == {True, False}
        current = next(s for s in listed if s["current"])
        assert current["id"] == _sid(registered["access_token"])
        assert set(current) == {"id", "created_at", "last_used_at", "user_agent", "ip", "current"}
        assert current["ip"].startswith("10.")
        assert current["user_agent"] == "pytest-browser/1.0"
        revoked = await auth_client.delete(
            f"/api/auth/sessions/{_sid(other['access_token'])}", headers=registered["auth"]
        )
        assert revoked.status_code == 204
        assert (
            await auth_client.get("/api/users/me", headers=api.bearer(other["access_token"]))
        ).status_code == 401
        assert (
            await auth_client.post(
                "/api/auth/refresh", json={"refresh_token": other["refresh_token"]}
            )
        ).status_code == 401
        listed = (await auth_client.get("/api/auth/sessions", headers=registered["auth"])).json()[
            "data"
        ]
        assert [s["id"] for s in listed] == [current["id"]]
        again = await auth_client.delete(
            f"/api/auth/sessions/{_sid(other['access_token'])}", headers=registered["auth"]
        )
        assert again.status_code == 404

    async def test_another_users_session_is_not_found(
        self, api: Any, auth_client: httpx.AsyncClient
    ) -> None:
        me = await api.register()
        victim = await api.register()
        response = await auth_client.delete(
            f"/api/auth/sessions/{_sid(victim['access_token'])}", headers=me["auth"]
        )
        assert response.status_code == 404
        assert response.json()["code"] == "session_not_found"
        assert (await auth_client.get("/api/users/me", headers=victim["auth"])).status_code == 200
        assert (
            await auth_client.delete(f"/api/auth/sessions/{uuid.uuid4()}", headers=me["auth"])
        ).status_code == 404
        assert (
            await auth_client.delete("/api/auth/sessions/not-a-uuid", headers=me["auth"])
        ).status_code == 422

    async def test_logout_all(self, api: Any, auth_client: httpx.AsyncClient) -> None:
        registered = await api.register()
        other = (await api.login(registered["account"]["email"])).json()
        assert (
            await auth_client.post("/api/auth/logout-all", headers=registered["auth"])
        ).status_code == 204
        for tokens in (registered, other):
            assert (
                await auth_client.get("/api/users/me", headers=api.bearer(tokens["access_token"]))
            ).status_code == 401
            assert (
                await auth_client.post(
                    "/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
                )
            ).status_code == 401
        async with api.runtime.db.session() as session:
            rows = (
                await session.exec(
                    select(AuthSession).where(
                        AuthSession.user_id == uuid.UUID(registered["user"]["id"])
                    )
                )
            ).all()
        assert rows
        assert all(r.revoked_at is not None for r in rows)


def _sid(access_token: str) -> str:
    import base64
    import json

    payload = access_token.split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sid"])
