from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from auth_service.accounts.service import create_user


@pytest.fixture
async def staff(api: Any) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:8]
    email, password = f"staff-{tag}@example.com", "staff horse 42"
    async with api.runtime.db.session() as session:
        await create_user(
            api.runtime.passwords,
            session,
            email=email,
            username=f"staff_{tag}",
            password=password,
            is_staff=True,
            is_email_confirmed=True,
        )
    login = await api.login(email, password)
    assert login.json()["user"]["is_staff"] is True
    return {**login.json(), "auth": api.bearer(login.json()["access_token"])}


class TestAdmin:
    async def test_only_staff(self, api: Any, auth_client: httpx.AsyncClient) -> None:
        user = await api.register()
        listing = await auth_client.get("/api/admin/users", headers=user["auth"])
        assert listing.status_code == 403
        assert listing.json()["code"] == "forbidden"
        patch = await auth_client.patch(
            f"/api/admin/users/{user['user']['id']}", json={"is_staff": True}, headers=user["auth"]
        )
        assert patch.status_code == 403
        assert (await auth_client.get("/api/admin/users")).status_code == 401

    async def test_search_and_pages(
        self, api: Any, auth_client: httpx.AsyncClient, staff: dict[str, Any]
    ) -> None:
        tag = uuid.uuid4().hex[:6]
        for i in range(3):
            await api.register(
                {
                    "email": f"find-{tag}-{i}@example.com",
                    "username": f"f{tag}_{i}",
                    "password": "correct horse 42",
                }
            )
        first = (
            await auth_client.get(f"/api/admin/users?q=FIND-{tag}&limit=2", headers=staff["auth"])
        ).json()
        assert [u["email"] for u in first["data"]] == [
            f"find-{tag}-2@example.com",
            f"find-{tag}-1@example.com",
        ]
        assert set(first["data"][0]) >= {
            "id",
            "email",
            "username",
            "is_active",
            "is_staff",
            "is_email_confirmed",
            "created_at",
            "updated_at",
            "profile",
        }
        second = (
            await auth_client.get(
                f"/api/admin/users?q=find-{tag}&limit=2&cursor={first['next_cursor']}",
                headers=staff["auth"],
            )
        ).json()
        assert [u["email"] for u in second["data"]] == [f"find-{tag}-0@example.com"]
        assert second["next_cursor"] is None
        # LIKE wildcards are taken literally
        assert (await auth_client.get("/api/admin/users?q=%25", headers=staff["auth"])).json()[
            "data"
        ] == []
        bad = await auth_client.get("/api/admin/users?cursor=garbage", headers=staff["auth"])
        assert bad.status_code == 422

    async def test_deactivation_signs_out_everywhere_and_blocks_login(
        self, api: Any, auth_client: httpx.AsyncClient, staff: dict[str, Any]
    ) -> None:
        user = await api.register()
        url = f"/api/admin/users/{user['user']['id']}"
        off = await auth_client.patch(url, json={"is_active": False}, headers=staff["auth"])
        assert off.status_code == 200
        assert off.json()["is_active"] is False
        assert (await auth_client.get("/api/users/me", headers=user["auth"])).status_code == 401
        assert (
            await auth_client.post(
                "/api/auth/refresh", json={"refresh_token": user["refresh_token"]}
            )
        ).status_code == 401
        assert (await api.login(user["account"]["email"])).status_code == 401
        on = await auth_client.patch(
            url, json={"is_active": True, "is_staff": True}, headers=staff["auth"]
        )
        assert on.json()["is_active"] is True
        assert on.json()["is_staff"] is True
        assert (await api.login(user["account"]["email"])).json()["user"]["is_staff"] is True

    async def test_staff_cannot_lock_themselves_out_and_unknown_ids_are_404(
        self, auth_client: httpx.AsyncClient, staff: dict[str, Any]
    ) -> None:
        me = f"/api/admin/users/{staff['user']['id']}"
        for body in ({"is_active": False}, {"is_staff": False}):
            response = await auth_client.patch(me, json=body, headers=staff["auth"])
            assert response.status_code == 409
            assert response.json()["code"] == "cannot_change_self"
        missing = await auth_client.patch(
            f"/api/admin/users/{uuid.uuid4()}", json={"is_active": False}, headers=staff["auth"]
        )
        assert missing.status_code == 404

    async def test_demoted_staff_loses_admin_at_once(
        self, api: Any, auth_client: httpx.AsyncClient, staff: dict[str, Any]
    ) -> None:
        other = await api.register()
        url = f"/api/admin/users/{other['user']['id']}"
        await auth_client.patch(url, json={"is_staff": True}, headers=staff["auth"])
        other_staff = (await api.login(other["account"]["email"])).json()
        headers = api.bearer(other_staff["access_token"])
        assert (await auth_client.get("/api/admin/users", headers=headers)).status_code == 200
        await auth_client.patch(url, json={"is_staff": False}, headers=staff["auth"])
        # the token still says staff; the database decides
        assert (await auth_client.get("/api/admin/users", headers=headers)).status_code == 403
