"""Rate limits at their production values (per-IP, per-account), and the cap via a variant app."""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx

Variant = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


def _problem_429(response: httpx.Response) -> int:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "rate_limited"
    return int(response.headers["retry-after"])


class TestLoginFailures:
    async def test_five_free_failures_then_exponential_delay(self, api: Any) -> None:
        account = (await api.register())["account"]
        for _ in range(6):
            assert (await api.login(account["email"], "wrong password")).status_code == 401
        # the 6th failure locked the account for 1 s: even the right password waits
        assert _problem_429(await api.login(account["email"])) == 1
        await asyncio.sleep(1.05)
        assert (await api.login(account["email"], "wrong password")).status_code == 401
        assert _problem_429(await api.login(account["email"], "wrong password")) == 2
        await asyncio.sleep(2.05)
        # a success clears the slate
        assert (await api.login(account["email"])).status_code == 200
        for _ in range(5):
            assert (await api.login(account["email"], "wrong password")).status_code == 401

    async def test_unknown_email_is_throttled_exactly_the_same(self, api: Any) -> None:
        account = (await api.register())["account"]
        ghost = f"ghost-{uuid.uuid4().hex[:8]}@example.com"
        answers: dict[str, list[tuple[int, str | None]]] = {}
        for email in (account["email"], ghost):
            answers[email] = []
            for _ in range(7):
                response = await api.login(email, "wrong password")
                answers[email].append((response.status_code, response.headers.get("retry-after")))
        assert answers[account["email"]] == answers[ghost] == [(401, None)] * 6 + [(429, "1")]

    async def test_at_most_the_limit_of_failures_per_window(self, auth_variant: Variant) -> None:
        async with auth_variant(login_failure_limit=3, login_free_failures=100) as client:
            account = {
                "email": f"cap-{uuid.uuid4().hex[:8]}@example.com",
                "username": f"cap_{uuid.uuid4().hex[:8]}",
                "password": "correct horse 42",
            }
            assert (await client.post("/api/auth/register", json=account)).status_code == 201
            wrong = {"email": account["email"], "password": "wrong password"}
            statuses = [
                (await client.post("/api/auth/login", json=wrong)).status_code for _ in range(4)
            ]
            assert statuses == [401, 401, 401, 429]
            right = await client.post(
                "/api/auth/login", json={"email": account["email"], "password": account["password"]}
            )
            assert 3000 < _problem_429(right) <= 3600

    async def test_password_checks_of_signed_in_users_count_too(
        self, api: Any, auth_client: httpx.AsyncClient
    ) -> None:
        registered = await api.register()
        body = {"current_password": "guess", "new_password": "brand new horse 7"}
        statuses = []
        for _ in range(12):  # free failures, then locks of 1 s, 2 s, 4 s... until one is hit
            response = await auth_client.post(
                "/api/auth/password/change", json=body, headers=registered["auth"]
            )
            statuses.append(response.status_code)
            if response.status_code == 429:
                break
        assert statuses[:6] == [422] * 6
        assert statuses[-1] == 429
        # the same account's login is locked as well
        _problem_429(await api.login(registered["account"]["email"]))


class TestPerIp:
    async def test_registrations_per_ip(
        self, api: Any, auth_client: httpx.AsyncClient, new_account: Callable[[], dict[str, str]]
    ) -> None:
        assert api.runtime.settings.register_ip_limit == 30  # the production value
        for _ in range(30):
            assert (
                await auth_client.post("/api/auth/register", json=new_account())
            ).status_code == 201
        refused = await auth_client.post("/api/auth/register", json=new_account())
        # GCRA: the burst is spent, and it refills one registration every 3600 / 30 s
        assert 100 < _problem_429(refused) <= 120
        assert refused.headers["ratelimit-policy"] == '"register-ip";q=30;w=3600'
        assert refused.headers["ratelimit"].startswith('"register-ip";r=0;t=')
        other_network = await auth_client.post(
            "/api/auth/register", json=new_account(), headers={"X-Real-IP": "192.0.2.77"}
        )
        assert other_network.status_code == 201

    async def test_logins_per_ip(self, api: Any, auth_client: httpx.AsyncClient) -> None:
        account = (await api.register())["account"]
        started = time.monotonic()
        for _ in range(49):  # the registration's IP has 50 logins per 10 minutes
            assert (await api.login(account["email"])).status_code == 200
        assert (await api.login(account["email"])).status_code == 200
        spent = time.monotonic() - started
        # GCRA: one login comes back every 600 s / 50 = 12 s, counted from the burst's start
        retry_after = _problem_429(await api.login(account["email"]))
        assert 11 - math.ceil(spent) < retry_after <= 12
        elsewhere = await auth_client.post(
            "/api/auth/login",
            json={"email": account["email"], "password": account["password"]},
            headers={"X-Real-IP": "192.0.2.78"},
        )
        assert elsewhere.status_code == 200
