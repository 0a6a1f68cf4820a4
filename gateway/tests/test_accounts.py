"""Account flows through the gateway: enumeration, mails, passwords, deletion, rate limits."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from auth_service.config import Settings as AuthSettings

CSRF = {"X-Parley-CSRF": "1"}
BODY = {"Parley-Token-Transport": "body"}
COOKIE = "__Secure-parley_refresh"
VOLATILE = {"x-request-id", "date", "content-length"}


def same_answer(a: httpx.Response, b: httpx.Response) -> None:
    assert a.status_code == b.status_code
    assert a.content == b.content
    assert {k: v for k, v in a.headers.items() if k not in VOLATILE} == {
        k: v for k, v in b.headers.items() if k not in VOLATILE
    }


class TestEnumeration:
    async def test_login_unknown_email_vs_wrong_password(
        self, gw: Any, gateway: httpx.AsyncClient
    ) -> None:
        account = (await gw.register())["account"]
        wrong = await gw.login(account["email"], "wrong password")
        unknown = await gw.login("no-such-user@example.com", "wrong password")
        assert wrong.status_code == 401
        same_answer(wrong, unknown)

    async def test_forgot_password_answers_alike_in_status_body_headers_and_time(
        self, gw: Any, visitor: Callable[..., httpx.AsyncClient]
    ) -> None:
        accounts = [(await gw.register())["account"] for _ in range(3)]
        known_times, unknown_times = [], []
        answers = []
        async with visitor() as client:
            for i, account in enumerate(accounts):
                for email, times in (
                    (account["email"], known_times),
                    (f"ghost-{i}-{time.time_ns()}@example.com", unknown_times),
                ):
                    began = time.perf_counter()
                    response = await client.post("/api/auth/password/forgot", json={"email": email})
                    times.append(time.perf_counter() - began)
                    answers.append(response)
        for response in answers[1:]:
            same_answer(answers[0], response)
        assert answers[0].status_code == 202
        # the mail is prepared after the answer: no database work on the path for either
        assert abs(statistics.median(known_times) - statistics.median(unknown_times)) < 0.05
        event = await gw.wait_for_event("auth.password_reset_requested", email=accounts[0]["email"])
        assert event["link"].startswith("https://parley.example/password-reset/")

    async def test_resend_for_a_confirmed_account_answers_the_same(
        self, gw: Any, gateway: httpx.AsyncClient
    ) -> None:
        registered = await gw.register()
        first = await gateway.post("/api/auth/email/resend", headers=registered["auth"])
        token = (
            await gw.events(
                "auth.email_confirmation_requested", email=registered["account"]["email"]
            )
        )[-1]["link"].rsplit("/", 1)[1]
        assert (
            await gateway.post("/api/auth/email/confirm", json={"token": token})
        ).status_code == 200
        confirmed = await gateway.post("/api/auth/email/resend", headers=registered["auth"])
        same_answer(first, confirmed)

    async def test_taken_email_on_registration_is_a_field_error(
        self, gw: Any, gateway: httpx.AsyncClient
    ) -> None:
        account = (await gw.register())["account"]
        response = await gateway.post(
            "/api/auth/register", json={**account, "username": account["username"] + "2"}
        )
        assert response.status_code == 422
        assert list(response.json()["errors"]) == ["email"]


class TestPasswordFlows:
    async def test_reset_revokes_access_at_the_gateway_at_once(
        self, gw: Any, gateway: httpx.AsyncClient, visitor: Callable[..., httpx.AsyncClient]
    ) -> None:
        async with visitor() as tab:
            registered = (
                await tab.post("/api/auth/register", json=(account := gw_account(gw)))
            ).json()
            access = {"Authorization": f"Bearer {registered['access_token']}"}
            assert (await tab.get("/api/dialogs", headers=access)).status_code == 200
            await gateway.post("/api/auth/password/forgot", json={"email": account["email"]})
            event = await gw.wait_for_event("auth.password_reset_requested", email=account["email"])
            token = event["link"].rsplit("/", 1)[1]
            reset = await gateway.post(
                "/api/auth/password/reset", json={"token": token, "password": "fresh new horse 9"}
            )
            assert reset.status_code == 204
            assert "set-cookie" not in reset.headers  # not signed in
            refused = await tab.get("/api/dialogs", headers=access)
            assert refused.status_code == 401
            assert refused.json()["code"] == "session_revoked"
            assert (await tab.post("/api/auth/refresh", headers=CSRF)).status_code == 401
            assert (await gw.login(account["email"], "fresh new horse 9")).status_code == 200
            assert await gw.events("auth.password_changed", email=account["email"])

    async def test_change_password_keeps_this_session(
        self, gw: Any, gateway: httpx.AsyncClient
    ) -> None:
        registered = await gw.register()
        other = (await gw.login(registered["account"]["email"])).json()
        changed = await gateway.post(
            "/api/auth/password/change",
            json={
                "current_password": registered["account"]["password"],
                "new_password": "fresh new horse 9",
            },
            headers=registered["auth"],
        )
        assert changed.status_code == 204
        assert (await gateway.get("/api/dialogs", headers=registered["auth"])).status_code == 200
        revoked = await gateway.get(
            "/api/dialogs", headers={"Authorization": f"Bearer {other['access_token']}"}
        )
        assert revoked.json()["code"] == "session_revoked"


class TestDeletion:
    async def test_delete_account_clears_the_cookie_and_emits_the_event(
        self, gw: Any, visitor: Callable[..., httpx.AsyncClient]
    ) -> None:
        async with visitor() as tab:
            account = gw_account(gw)
            registered = (await tab.post("/api/auth/register", json=account)).json()
            auth = {"Authorization": f"Bearer {registered['access_token']}"}
            wrong = await tab.request(
                "DELETE", "/api/users/me", json={"password": "nope nope nope"}, headers=auth
            )
            assert wrong.status_code == 422
            deleted = await tab.request(
                "DELETE", "/api/users/me", json={"password": account["password"]}, headers=auth
            )
            assert deleted.status_code == 204
            assert "max-age=0" in deleted.headers["set-cookie"].lower()
            assert (await tab.get("/api/dialogs", headers=auth)).status_code == 401
            assert await gw.events("auth.user_deleted", user_id=registered["user"]["id"]) == [
                {"user_id": registered["user"]["id"]}
            ]


class TestRateLimits:
    async def test_429_passes_through_as_problem_json_with_retry_after(
        self, gw: Any, visitor: Callable[..., httpx.AsyncClient]
    ) -> None:
        account = (await gw.register())["account"]
        wrong = {"email": account["email"], "password": "bad password"}
        async with visitor(headers={"Origin": "https://app.example"}) as client:
            statuses = []
            for _ in range(12):  # 5 free failures, then locks of 1 s, 2 s, 4 s... until one is hit
                limited = await client.post("/api/auth/login", json=wrong)
                statuses.append(limited.status_code)
                if limited.status_code == 429:
                    break
        assert statuses[:6] == [401] * 6
        assert limited.status_code == 429
        assert limited.headers["content-type"] == "application/problem+json"
        assert limited.json()["code"] == "rate_limited"
        assert 1 <= int(limited.headers["retry-after"]) <= 8
        assert "retry-after" in limited.headers["access-control-expose-headers"].lower()

    async def test_registrations_per_client_address(
        self, visitor: Callable[..., httpx.AsyncClient], new_account: Callable[[], dict[str, str]]
    ) -> None:
        limit = AuthSettings.model_fields["register_ip_limit"].default
        async with visitor() as client:
            for _ in range(limit):
                assert (
                    await client.post("/api/auth/register", json=new_account())
                ).status_code == 201
            refused = await client.post("/api/auth/register", json=new_account())
            assert refused.status_code == 429
            # the burst is spent; it refills one registration per window / limit (GCRA)
            assert int(refused.headers["retry-after"]) > 3600 // limit - 10
            assert refused.headers["ratelimit-policy"].startswith('"register-ip"')
        async with visitor() as elsewhere:
            assert (
                await elsewhere.post("/api/auth/register", json=new_account())
            ).status_code == 201


def gw_account(gw: Any) -> dict[str, str]:
    tag = uuid.uuid4().hex[:8]
    return {
        "email": f"gw-{tag}@example.com",
        "username": f"gw_{tag}",
        "password": "correct horse 42",
    }


class TestEmailConfirmationPropagates:
    async def test_tokens_signed_before_confirming_count_as_confirmed(self, gw: Any) -> None:
        user = await gw.register()
        old_token = user["auth"]  # says email_confirmed: false until it expires
        dialog = (await gw.client.post("/api/dialogs", json={}, headers=old_token)).json()
        path = f"/api/dialogs/{dialog['id']}/messages"
        for i in range(3):
            posted = await gw.client.post(path, json={"message_text": f"m{i}"}, headers=old_token)
            assert posted.status_code == 202, posted.text
        refused = await gw.client.post(path, json={"message_text": "4th"}, headers=old_token)
        assert refused.status_code == 403
        assert refused.json()["code"] == "email_not_confirmed"

        event = await gw.wait_for_event(
            "auth.email_confirmation_requested", email=user["account"]["email"]
        )
        token = event["link"].rsplit("/", 1)[1]
        confirmed = await gw.client.post("/api/auth/email/confirm", json={"token": token})
        assert confirmed.status_code == 200
        deadline = time.monotonic() + 2
        while True:
            fourth = await gw.client.post(path, json={"message_text": "4th"}, headers=old_token)
            if fourth.status_code == 202 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        assert fourth.status_code == 202, fourth.text
