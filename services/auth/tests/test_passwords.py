from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlmodel import select

from auth_service.models import EmailToken
from auth_service.passwords import common_passwords, is_common


class TestCommonPasswords:
    def test_the_shipped_list_is_loaded(self) -> None:
        assert len(common_passwords()) > 10_000
        assert is_common("Password")
        assert is_common(" letmein ")
        assert not is_common("correct horse 42")


class TestForgotPassword:
    async def test_known_and_unknown_emails_get_the_same_answer(
        self, api: Any, auth_client: httpx.AsyncClient
    ) -> None:
        account = (await api.register())["account"]
        ghost = f"ghost-{uuid.uuid4().hex[:8]}@example.com"
        known = await auth_client.post(
            "/api/auth/password/forgot", json={"email": account["email"]}
        )
        unknown = await auth_client.post("/api/auth/password/forgot", json={"email": ghost})
        assert known.status_code == unknown.status_code == 202
        assert known.json() == unknown.json() == {"status": "accepted"}
        assert sorted(known.headers) == sorted(unknown.headers)
        (event,) = await api.events("auth.password_reset_requested", email=account["email"])
        assert set(event) == {"user_id", "email", "username", "link", "expires_at"}
        assert event["link"].startswith("https://parley.example/password-reset/")
        expires = datetime.fromisoformat(event["expires_at"])
        assert (
            timedelta(minutes=29) < expires - datetime.now(expires.tzinfo) <= timedelta(minutes=30)
        )
        assert await api.events("auth.password_reset_requested", email=ghost) == []

    async def test_reset_mails_are_limited_per_address_whether_or_not_it_exists(
        self, api: Any, auth_client: httpx.AsyncClient
    ) -> None:
        account = (await api.register())["account"]
        for email in (account["email"], f"ghost-{uuid.uuid4().hex[:8]}@example.com"):
            statuses = [
                (
                    await auth_client.post("/api/auth/password/forgot", json={"email": email})
                ).status_code
                for _ in range(4)
            ]
            assert statuses == [202, 202, 202, 429], email
        assert len(await api.events("auth.password_reset_requested", email=account["email"])) == 3

    async def test_a_new_link_voids_the_previous_one(
        self, api: Any, auth_client: httpx.AsyncClient
    ) -> None:
        account = (await api.register())["account"]
        await auth_client.post("/api/auth/password/forgot", json={"email": account["email"]})
        first = await api.link_token("auth.password_reset_requested", account["email"])
        await auth_client.post("/api/auth/password/forgot", json={"email": account["email"]})
        second = await api.link_token("auth.password_reset_requested", account["email"])
        refused = await auth_client.post(
            "/api/auth/password/reset", json={"token": first, "password": "brand new horse 7"}
        )
        assert refused.status_code == 400
        assert refused.json()["code"] == "invalid_token"
        done = await auth_client.post(
            "/api/auth/password/reset", json={"token": second, "password": "brand new horse 7"}
        )
        assert done.status_code == 204


class TestResetPassword:
    async def test_reset_ends_every_session_and_signs_nobody_in(
        self, api: Any, auth_client: httpx.AsyncClient
    ) -> None:
        registered = await api.register()
        email = registered["account"]["email"]
        second_device = (await api.login(email)).json()
        await auth_client.post("/api/auth/password/forgot", json={"email": email})
        token = await api.link_token("auth.password_reset_requested", email)
        weak = await auth_client.post(
            "/api/auth/password/reset", json={"token": token, "password": "password1"}
        )
        assert weak.status_code == 422
        reset = await auth_client.post(
            "/api/auth/password/reset", json={"token": token, "password": "brand new horse 7"}
        )
        assert reset.status_code == 204
        assert reset.content == b""
        assert "set-cookie" not in reset.headers
        for tokens in (registered, second_device):
            refreshed = await auth_client.post(
                "/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
            )
            assert refreshed.status_code == 401
            me = await auth_client.get("/api/users/me", headers=api.bearer(tokens["access_token"]))
            assert me.status_code == 401
        assert (await api.login(email)).status_code == 401
        assert (await api.login(email, "brand new horse 7")).status_code == 200
        changed = await api.events("auth.password_changed", email=email)
        assert changed == [
            {
                "user_id": registered["user"]["id"],
                "email": email,
                "username": registered["account"]["username"],
            }
        ]
        again = await auth_client.post(
            "/api/auth/password/reset", json={"token": token, "password": "another new horse 8"}
        )
        assert again.status_code == 400

    async def test_expired_reset_link_is_refused(
        self, api: Any, auth_client: httpx.AsyncClient
    ) -> None:
        account = (await api.register())["account"]
        await auth_client.post("/api/auth/password/forgot", json={"email": account["email"]})
        token = await api.link_token("auth.password_reset_requested", account["email"])
        async with api.runtime.db.session() as session:
            for record in (
                await session.exec(select(EmailToken).where(EmailToken.purpose == "reset"))
            ).all():
                record.expires_at = record.created_at
        response = await auth_client.post(
            "/api/auth/password/reset", json={"token": token, "password": "brand new horse 7"}
        )
        assert response.status_code == 400
        garbage = await auth_client.post(
            "/api/auth/password/reset", json={"token": "x" * 43, "password": "brand new horse 7"}
        )
        assert garbage.status_code == 400


class TestChangePassword:
    async def test_change_keeps_this_session_and_ends_the_others(
        self, api: Any, auth_client: httpx.AsyncClient
    ) -> None:
        registered = await api.register()
        email = registered["account"]["email"]
        other = (await api.login(email)).json()
        wrong = await auth_client.post(
            "/api/auth/password/change",
            json={"current_password": "not my password", "new_password": "brand new horse 7"},
            headers=registered["auth"],
        )
        assert wrong.status_code == 422
        assert wrong.json()["errors"] == {"current_password": ["The password is wrong."]}
        common = await auth_client.post(
            "/api/auth/password/change",
            json={
                "current_password": registered["account"]["password"],
                "new_password": "iloveyou",
            },
            headers=registered["auth"],
        )
        assert common.status_code == 422
        assert "new_password" in common.json()["errors"]
        changed = await auth_client.post(
            "/api/auth/password/change",
            json={
                "current_password": registered["account"]["password"],
                "new_password": "brand new horse 7",
            },
            headers=registered["auth"],
        )
        assert changed.status_code == 204
        assert (
            await auth_client.get("/api/users/me", headers=registered["auth"])
        ).status_code == 200
        assert (
            await auth_client.post(
                "/api/auth/refresh", json={"refresh_token": registered["refresh_token"]}
            )
        ).status_code == 200
        assert (
            await auth_client.get("/api/users/me", headers=api.bearer(other["access_token"]))
        ).status_code == 401
        assert (
            await auth_client.post(
                "/api/auth/refresh", json={"refresh_token": other["refresh_token"]}
            )
        ).status_code == 401
        assert (await api.login(email, "brand new horse 7")).status_code == 200
        assert len(await api.events("auth.password_changed", email=email)) == 1

    async def test_change_needs_a_signed_in_user(self, auth_client: httpx.AsyncClient) -> None:
        response = await auth_client.post(
            "/api/auth/password/change",
            json={"current_password": "a", "new_password": "brand new horse 7"},
        )
        assert response.status_code == 401
