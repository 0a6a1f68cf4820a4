from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
from sqlmodel import func, select

from auth_service.models import AuthSession, EmailToken, Profile, RefreshToken, User
from auth_service.ratelimit import account_key
from kit.outbox import OutboxEvent

from .conftest import Api

Variant = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


class TestRegister:
    async def test_creates_user_profile_session_and_events(self, api: Any) -> None:
        registered = await api.register()
        account = registered["account"]
        assert registered["token_type"] == "Bearer"
        assert registered["expires_in"] == 900
        assert registered["refresh_token"]
        user_json = registered["user"]
        assert user_json["email"] == account["email"]
        assert user_json["is_email_confirmed"] is False
        assert user_json["profile"] == {"first_name": "", "last_name": "", "avatar_url": None}

        async with api.runtime.db.session() as session:
            user = (await session.exec(select(User).where(User.email == account["email"]))).one()
            assert user.password_hash.startswith("$argon2id$")
            assert account["password"] not in user.password_hash
            assert await session.get(Profile, user.id) is not None
            sessions = (
                await session.exec(select(AuthSession).where(AuthSession.user_id == user.id))
            ).all()
            assert len(sessions) == 1
            assert sessions[0].user_agent == "pytest-browser/1.0"
        assert await api.events("auth.user_registered", email=account["email"]) == [
            {"user_id": str(user.id), "email": account["email"], "username": account["username"]}
        ]
        (confirmation,) = await api.events(
            "auth.email_confirmation_requested", email=account["email"]
        )
        assert confirmation["link"].startswith("https://parley.example/email-verify/")
        assert confirmation["username"] == account["username"]

    async def test_taken_email_is_a_field_error_and_writes_nothing(
        self, api: Any, auth_client: httpx.AsyncClient
    ) -> None:
        account = (await api.register())["account"]
        again = {**account, "username": account["username"] + "x"}
        async with api.runtime.db.session() as session:
            users_before = (await session.exec(select(func.count()).select_from(User))).one()
        response = await auth_client.post("/api/auth/register", json=again)
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "email_taken"
        assert response.json()["errors"]["email"] == ["An account with this email already exists."]
        async with api.runtime.db.session() as session:
            assert (
                await session.exec(select(func.count()).select_from(User))
            ).one() == users_before

    async def test_taken_username_is_a_field_error(
        self, api: Any, auth_client: httpx.AsyncClient
    ) -> None:
        account = (await api.register())["account"]
        other = {**account, "email": "other-" + account["email"]}
        response = await auth_client.post("/api/auth/register", json=other)
        assert response.status_code == 422
        assert response.json()["code"] == "username_taken"
        assert list(response.json()["errors"]) == ["username"]

    async def test_usernames_are_unique_ignoring_case(
        self, api: Any, auth_client: httpx.AsyncClient, new_account: Callable[[], dict[str, str]]
    ) -> None:
        first = await api.register()
        shouted = {**new_account(), "username": first["account"]["username"].upper()}
        response = await auth_client.post("/api/auth/register", json=shouted)
        assert response.status_code == 422
        assert response.json()["code"] == "username_taken"
        other = await api.register()
        renamed = await auth_client.patch(
            "/api/users/me", json={"username": shouted["username"]}, headers=other["auth"]
        )
        assert renamed.status_code == 422
        assert renamed.json()["errors"]["username"] == ["This username is taken."]
        # changing only the case of one's own name is allowed
        own = await auth_client.patch(
            "/api/users/me", json={"username": shouted["username"]}, headers=first["auth"]
        )
        assert own.status_code == 200, own.text
        assert own.json()["username"] == shouted["username"]

    async def test_bad_fields_are_named(self, auth_client: httpx.AsyncClient) -> None:
        response = await auth_client.post(
            "/api/auth/register", json={"email": "nope", "username": "a b", "password": "short"}
        )
        assert response.status_code == 422
        assert set(response.json()["errors"]) == {"email", "username", "password"}

    async def test_nul_characters_are_a_field_error(
        self, api: Any, auth_client: httpx.AsyncClient, new_account: Callable[[], dict[str, str]]
    ) -> None:
        for field, value in (("username", "ad\x00a"), ("email", "a\x00@example.com")):
            response = await auth_client.post(
                "/api/auth/register", json={**new_account(), field: value}
            )
            assert response.status_code == 422, response.text
            assert field in response.json()["errors"]
        registered = await api.register()
        for body, field in (
            ({"first_name": "A\x00"}, "first_name"),
            ({"last_name": "\x00"}, "last_name"),
        ):
            patched = await auth_client.patch(
                "/api/users/me/profile", json=body, headers=registered["auth"]
            )
            assert patched.status_code == 422, patched.text
            assert field in patched.json()["errors"]
        renamed = await auth_client.patch(
            "/api/users/me", json={"username": "x\x00"}, headers=registered["auth"]
        )
        assert renamed.status_code == 422
        me = (await auth_client.get("/api/users/me", headers=registered["auth"])).json()
        assert me["username"] == registered["account"]["username"]

    async def test_password_length_limits_without_truncation(
        self, api: Any, auth_client: httpx.AsyncClient, new_account: Callable[[], dict[str, str]]
    ) -> None:
        too_long = {**new_account(), "password": "x7!" * 342}  # 1026 characters
        response = await auth_client.post("/api/auth/register", json=too_long)
        assert response.status_code == 422
        assert "password" in response.json()["errors"]
        # 1024 characters are fine, and every one of them counts
        longest = "Zq9!" * 256
        account = {**new_account(), "password": longest}
        await api.register(account)
        assert (await api.login(account["email"], longest)).status_code == 200
        assert (await api.login(account["email"], longest[:-1] + "?")).status_code == 401

    async def test_common_and_self_derived_passwords_are_refused(
        self, auth_client: httpx.AsyncClient, new_account: Callable[[], dict[str, str]]
    ) -> None:
        for common in ("password", "iloveyou", "Password1", "qwertyuiop", "12345678"):
            response = await auth_client.post(
                "/api/auth/register", json={**new_account(), "password": common}
            )
            assert response.status_code == 422, common
            assert response.json()["errors"]["password"][0].startswith(
                "This password is too common"
            )
        account = new_account()
        for own in (account["email"], account["username"].upper()):
            response = await auth_client.post(
                "/api/auth/register", json={**account, "password": own}
            )
            assert response.status_code == 422
            assert response.json()["code"] == "password_too_similar"

    async def test_malformed_json_is_422_not_500(self, auth_client: httpx.AsyncClient) -> None:
        response = await auth_client.post(
            "/api/auth/register", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert response.status_code == 422
        assert "body" in response.json()["errors"]


class TestLogin:
    async def test_login_and_me(self, api: Any, auth_client: httpx.AsyncClient) -> None:
        account = (await api.register())["account"]
        response = await api.login(account["email"].upper())
        assert response.status_code == 200, response.text
        me = await auth_client.get(
            "/api/users/me", headers=api.bearer(response.json()["access_token"])
        )
        assert me.status_code == 200
        assert me.json()["username"] == account["username"]

    async def test_unknown_email_and_wrong_password_look_the_same(self, api: Any) -> None:
        account = (await api.register())["account"]
        wrong = await api.login(account["email"], "wrong password")
        unknown = await api.login("nobody-here@example.com", "wrong password")
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.json() == unknown.json()
        assert wrong.json()["code"] == "invalid_credentials"
        assert wrong.headers["www-authenticate"] == unknown.headers["www-authenticate"]

    async def test_unknown_email_costs_a_full_hash(self, auth_variant: Variant) -> None:
        """Timing shape: with a measurable argon2 cost, both failures take a hash's time."""
        async with auth_variant(argon2_memory_kib=8192, argon2_time_cost=1) as client:
            account = {
                "email": f"timing-{time.time_ns()}@example.com",
                "username": f"t{time.time_ns() % 10**9}",
                "password": "correct horse 42",
            }
            assert (await client.post("/api/auth/register", json=account)).status_code == 201
            hasher = client.app.state.runtime.passwords.hasher  # type: ignore[attr-defined]
            sample = hasher.hash("sample password")
            checks = []
            for _ in range(5):
                began = time.perf_counter()
                hasher.verify(sample, "sample password")
                checks.append(time.perf_counter() - began)
            hash_time = statistics.median(checks)

            async def timed(email: str) -> float:
                began = time.perf_counter()
                response = await client.post(
                    "/api/auth/login",
                    json={"email": email, "password": "wrong password"},
                    headers={"X-Real-IP": f"10.9.{time.time_ns() % 250}.1"},
                )
                assert response.status_code == 401
                return time.perf_counter() - began

            await asyncio.sleep(0.3)  # let the outbox relay publish the registration's events
            known, unknown = [], []
            for i in range(8):  # interleaved, so background noise hits both alike
                known.append(await timed(account["email"]))
                unknown.append(await timed(f"nobody-{i}-{time.time_ns()}@example.com"))
                # stay within the free failures: the delay is not what is measured here
                await client.app.state.runtime.login_throttle.clear(  # type: ignore[attr-defined]
                    account_key(account["email"])
                )
        assert statistics.median(unknown) >= 0.6 * hash_time
        assert statistics.median(known) >= 0.6 * hash_time
        assert 0.5 < statistics.median(unknown) / statistics.median(known) < 2.0

    async def test_hash_is_upgraded_when_parameters_change(
        self, api: Any, auth_variant: Variant
    ) -> None:
        account = (await api.register())["account"]
        async with api.runtime.db.session() as session:
            old = (await session.exec(select(User).where(User.email == account["email"]))).one()
        assert "m=1024" in old.password_hash
        async with auth_variant(argon2_memory_kib=2048) as stronger:
            response = await stronger.post(
                "/api/auth/login", json={"email": account["email"], "password": account["password"]}
            )
            assert response.status_code == 200
        async with api.runtime.db.session() as session:
            new = (await session.exec(select(User).where(User.email == account["email"]))).one()
        assert "m=2048" in new.password_hash
        assert (await api.login(account["email"])).status_code == 200  # still the same password

    async def test_deactivated_account_cannot_log_in(self, api: Any) -> None:
        account = (await api.register())["account"]
        async with api.runtime.db.session() as session:
            user = (await session.exec(select(User).where(User.email == account["email"]))).one()
            user.is_active = False
        response = await api.login(account["email"])
        assert response.status_code == 401
        assert response.json()["code"] == "invalid_credentials"

    async def test_login_metrics_count_results(
        self, api: Any, auth_client: httpx.AsyncClient
    ) -> None:
        def count(result: str) -> float:
            for line in metrics.splitlines():
                if line.startswith(f'parley_auth_logins_total{{result="{result}"}}'):
                    return float(line.rsplit(" ", 1)[1])
            return 0.0

        metrics = (await auth_client.get("/metrics")).text
        before = (count("success"), count("failure"))
        account = (await api.register())["account"]
        await api.login(account["email"])
        await api.login(account["email"], "wrong password")
        metrics = (await auth_client.get("/metrics")).text
        assert (count("success"), count("failure")) == (before[0] + 1, before[1] + 1)
        assert "parley_refresh_reuse_detected_total" in metrics
        assert account["email"] not in metrics


class TestEmailConfirmation:
    async def test_confirm_once(self, api: Any, auth_client: httpx.AsyncClient) -> None:
        account = (await api.register())["account"]
        token = await api.link_token("auth.email_confirmation_requested", account["email"])
        response = await auth_client.post("/api/auth/email/confirm", json={"token": token})
        assert response.status_code == 200, response.text
        assert response.json()["is_email_confirmed"] is True
        again = await auth_client.post("/api/auth/email/confirm", json={"token": token})
        assert again.status_code == 400
        assert again.json()["code"] == "invalid_token"
        # the next access token says so
        refreshed = await auth_client.post(
            "/api/auth/refresh",
            json={"refresh_token": (await api.login(account["email"])).json()["refresh_token"]},
        )
        assert refreshed.json()["user"]["is_email_confirmed"] is True

    async def test_resend_invalidates_the_previous_link(
        self, api: Any, auth_client: httpx.AsyncClient
    ) -> None:
        registered = await api.register()
        email = registered["account"]["email"]
        first = await api.link_token("auth.email_confirmation_requested", email)
        response = await auth_client.post("/api/auth/email/resend", headers=registered["auth"])
        assert response.status_code == 202
        second = await api.link_token("auth.email_confirmation_requested", email)
        assert first != second
        assert (
            await auth_client.post("/api/auth/email/confirm", json={"token": first})
        ).status_code == 400
        assert (
            await auth_client.post("/api/auth/email/confirm", json={"token": second})
        ).status_code == 200

    async def test_expired_link_is_refused(self, api: Any, auth_client: httpx.AsyncClient) -> None:
        account = (await api.register())["account"]
        token = await api.link_token("auth.email_confirmation_requested", account["email"])
        async with api.runtime.db.session() as session:
            for record in (await session.exec(select(EmailToken))).all():
                record.expires_at = record.created_at  # already over
        response = await auth_client.post("/api/auth/email/confirm", json={"token": token})
        assert response.status_code == 400

    async def test_confirmation_mails_are_limited_per_account(
        self, api: Any, auth_client: httpx.AsyncClient
    ) -> None:
        registered = await api.register()  # the welcome mail is the first of three
        statuses = [
            (
                await auth_client.post("/api/auth/email/resend", headers=registered["auth"])
            ).status_code
            for _ in range(3)
        ]
        assert statuses == [202, 202, 429]
        refused = await auth_client.post("/api/auth/email/resend", headers=registered["auth"])
        assert refused.json()["code"] == "rate_limited"
        assert 1 <= int(refused.headers["retry-after"]) <= 3600
        events = await api.events(
            "auth.email_confirmation_requested", email=registered["account"]["email"]
        )
        assert len(events) == 3

    async def test_email_tokens_are_stored_hashed(self, api: Any) -> None:
        account = (await api.register())["account"]
        token = await api.link_token("auth.email_confirmation_requested", account["email"])
        async with api.runtime.db.session() as session:
            hashes = [t.token_hash for t in (await session.exec(select(EmailToken))).all()]
            refresh_hashes = [
                t.token_hash for t in (await session.exec(select(RefreshToken))).all()
            ]
        assert token not in hashes
        assert len(token) >= 43  # 256 bits in URL-safe base64
        assert all(len(h) == 64 for h in hashes + refresh_hashes)


class TestUserEndpoints:
    async def test_change_username(self, api: Any, auth_client: httpx.AsyncClient) -> None:
        registered = await api.register()
        taken = (await api.register())["account"]["username"]
        renamed = await auth_client.patch(
            "/api/users/me",
            json={"username": "renamed_" + registered["account"]["username"][-8:]},
            headers=registered["auth"],
        )
        assert renamed.status_code == 200
        assert renamed.json()["username"].startswith("renamed_")
        clash = await auth_client.patch(
            "/api/users/me", json={"username": taken}, headers=registered["auth"]
        )
        assert clash.status_code == 422
        assert clash.json()["code"] == "username_taken"
        bad = await auth_client.patch(
            "/api/users/me", json={"username": "x" * 26}, headers=registered["auth"]
        )
        assert bad.status_code == 422

    async def test_delete_needs_the_password_and_removes_everything(
        self, api: Any, auth_client: httpx.AsyncClient
    ) -> None:
        registered = await api.register()
        email = registered["account"]["email"]
        user_id = registered["user"]["id"]
        wrong = await auth_client.request(
            "DELETE",
            "/api/users/me",
            json={"password": "not it at all"},
            headers=registered["auth"],
        )
        assert wrong.status_code == 422
        assert wrong.json()["errors"] == {"password": ["The password is wrong."]}
        missing = await auth_client.request("DELETE", "/api/users/me", headers=registered["auth"])
        assert missing.status_code == 422
        deleted = await auth_client.request(
            "DELETE",
            "/api/users/me",
            json={"password": registered["account"]["password"]},
            headers=registered["auth"],
        )
        assert deleted.status_code == 204
        assert await api.events("auth.user_deleted", user_id=user_id) == [{"user_id": user_id}]
        uid = uuid.UUID(user_id)
        async with api.runtime.db.session() as session:
            assert (await session.exec(select(User).where(User.email == email))).first() is None
            assert (
                await session.exec(select(AuthSession).where(AuthSession.user_id == uid))
            ).all() == []
            assert (await session.exec(select(Profile).where(Profile.user_id == uid))).all() == []
        assert (
            await auth_client.get("/api/users/me", headers=registered["auth"])
        ).status_code == 401
        assert await api.runtime.redis.exists(
            f"parley:revoked-session:{_sid(registered['access_token'])}"
        )
        assert (await api.login(email)).status_code == 401
        # the address is free again
        await api.register(registered["account"])

    async def test_outbox_rows_name_no_password(self, api: Any) -> None:
        account = (await api.register())["account"]
        async with api.runtime.db.session() as session:
            payloads = [e.payload for e in (await session.exec(select(OutboxEvent))).all()]
        assert not any(account["password"] in p for p in payloads)


def _sid(access_token: str) -> str:
    import base64
    import json

    payload = access_token.split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sid"])


class TestInternalContact:
    async def test_only_parleys_services_read_an_address(self, auth_variant: Any) -> None:
        async with auth_variant(internal_token="internal-test-token") as client:
            registered = await Api(client).register()
            path = f"/internal/users/{registered['user']['id']}/contact"
            assert (await client.get(path)).status_code == 401
            wrong = await client.get(path, headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 403
            ok = await client.get(path, headers={"Authorization": "Bearer internal-test-token"})
            assert ok.status_code == 200
            assert ok.json()["email"] == registered["account"]["email"]
