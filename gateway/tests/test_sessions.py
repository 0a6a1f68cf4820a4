"""Refresh rotation and reuse through the cookie, session lists, client addresses."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import jwt
from fastapi import FastAPI

from auth_service.models import AuthSession, RefreshToken
from auth_service.opaque import token_hash
from gateway.main import build_app
from kit.db import utcnow

CSRF = {"X-Parley-CSRF": "1"}
COOKIE = "__Secure-parley_refresh"


def sid(access_token: str) -> str:
    return str(jwt.decode(access_token, options={"verify_signature": False})["sid"])


class TestRefreshReuse:
    async def test_reused_cookie_revokes_the_family_and_its_access_tokens(
        self, gw: Any, visitor: Callable[..., httpx.AsyncClient]
    ) -> None:
        async with visitor() as victim, visitor() as thief:
            first = (await victim.post("/api/auth/register", json=_account())).json()
            stolen = victim.cookies[COOKIE]
            refreshed = await victim.post("/api/auth/refresh", headers=CSRF)
            assert refreshed.status_code == 200
            await _age(gw, stolen, seconds=11)
            thief.cookies.set(COOKIE, stolen, domain="parley.example", path="/api/auth")
            replay = await thief.post("/api/auth/refresh", headers=CSRF)
            assert replay.status_code == 401
            assert replay.json()["code"] == "invalid_refresh_token"
            assert "max-age=0" in replay.headers["set-cookie"].lower()  # the dead cookie is dropped
            # the victim's current cookie is dead too, and so are the session's access tokens
            assert (await victim.post("/api/auth/refresh", headers=CSRF)).status_code == 401
            for access in (first["access_token"], refreshed.json()["access_token"]):
                response = await victim.get(
                    "/api/dialogs", headers={"Authorization": f"Bearer {access}"}
                )
                assert response.status_code == 401
                assert response.json()["code"] == "session_revoked"

    async def test_two_tabs_racing_within_grace(
        self, visitor: Callable[..., httpx.AsyncClient]
    ) -> None:
        async with visitor() as tab_a, visitor() as tab_b:
            await tab_a.post("/api/auth/register", json=_account())
            shared = tab_a.cookies[COOKIE]
            tab_b.cookies.set(COOKIE, shared, domain="parley.example", path="/api/auth")
            first = await tab_a.post("/api/auth/refresh", headers=CSRF)
            second = await tab_b.post("/api/auth/refresh", headers=CSRF)
            assert first.status_code == second.status_code == 200
            assert "set-cookie" in first.headers
            assert "set-cookie" not in second.headers  # an access token, no new cookie
            assert "refresh_token" not in second.json()
            auth = {"Authorization": f"Bearer {second.json()['access_token']}"}
            assert (await tab_b.get("/api/dialogs", headers=auth)).status_code == 200
            assert (await tab_a.post("/api/auth/refresh", headers=CSRF)).status_code == 200


class TestSessionList:
    async def test_list_revoke_and_someone_elses_session(
        self, gw: Any, gateway: httpx.AsyncClient
    ) -> None:
        me = await gw.register()
        other_device = (await gw.login(me["account"]["email"])).json()
        stranger = await gw.register()
        listed = (await gateway.get("/api/auth/sessions", headers=me["auth"])).json()["data"]
        assert sorted(s["current"] for s in listed) == [False, True]
        foreign = await gateway.delete(
            f"/api/auth/sessions/{sid(stranger['access_token'])}", headers=me["auth"]
        )
        assert foreign.status_code == 404
        assert (await gateway.get("/api/dialogs", headers=stranger["auth"])).status_code == 200
        mine = await gateway.delete(
            f"/api/auth/sessions/{sid(other_device['access_token'])}", headers=me["auth"]
        )
        assert mine.status_code == 204
        refused = await gateway.get(
            "/api/dialogs", headers={"Authorization": f"Bearer {other_device['access_token']}"}
        )
        assert refused.json()["code"] == "session_revoked"

    async def test_logout_all_clears_the_cookie(
        self, visitor: Callable[..., httpx.AsyncClient]
    ) -> None:
        async with visitor() as tab:
            registered = (await tab.post("/api/auth/register", json=_account())).json()
            response = await tab.post(
                "/api/auth/logout-all",
                headers={"Authorization": f"Bearer {registered['access_token']}"},
            )
            assert response.status_code == 204
            assert COOKIE not in tab.cookies
            assert (await tab.post("/api/auth/refresh", headers=CSRF)).status_code == 401

    async def test_logout_needs_csrf_and_consumes_nothing_without_it(
        self, visitor: Callable[..., httpx.AsyncClient]
    ) -> None:
        async with visitor() as tab:
            await tab.post("/api/auth/register", json=_account())
            for headers in ({}, {**CSRF, "Origin": "https://evil.example"}, {"X-Parley-CSRF": "0"}):
                refused = await tab.post("/api/auth/logout", headers=headers)
                assert refused.status_code == 403
                assert refused.json()["code"] == "csrf_failed"
            assert (await tab.post("/api/auth/refresh", headers=CSRF)).status_code == 200


class TestClientAddress:
    async def test_made_up_identity_headers_never_reach_auth(
        self, gw: Any, visitor: Callable[..., httpx.AsyncClient]
    ) -> None:
        spoof = {
            "X-Real-IP": "6.6.6.6",
            "X-Forwarded-For": "7.7.7.7",
            "Forwarded": "for=8.8.8.8",
            "X-User-Id": str(uuid.uuid4()),
            "X-Internal-Token": "gateway-test-internal-token",
        }
        async with visitor("100.100.1.2") as client:
            registered = (
                await client.post(
                    "/api/auth/register",
                    json=_account(),
                    headers={**spoof, "Parley-Token-Transport": "body"},
                )
            ).json()
            listed = await client.get(
                "/api/auth/sessions",
                headers={"Authorization": f"Bearer {registered['access_token']}"},
            )
        assert [s["ip"] for s in listed.json()["data"]] == ["100.100.1.2"]

    async def test_forwarded_for_is_believed_only_from_a_trusted_proxy(
        self, gateway_settings: Any, new_account: Callable[[], dict[str, str]]
    ) -> None:
        settings = gateway_settings.model_copy(
            update={"trusted_proxies_setting": "10.0.0.0/8, 192.0.2.1"}
        )
        app: FastAPI = build_app(settings, serve_metrics=False)
        async with app.router.lifespan_context(app):
            cases = [
                ("192.0.2.1", "203.0.113.50", "203.0.113.50"),  # from the proxy: the client it saw
                (
                    "192.0.2.1",
                    "1.2.3.4, 203.0.113.51",
                    "203.0.113.51",
                ),  # left entries are the client's
                ("192.0.2.1", "203.0.113.52, 10.1.1.1", "203.0.113.52"),  # through two trusted hops
                ("192.0.2.1", "garbage", "192.0.2.1"),
                ("100.64.9.9", "203.0.113.53", "100.64.9.9"),  # not a proxy: header ignored
            ]
            for peer, forwarded, expected in cases:
                transport = httpx.ASGITransport(app=app, client=(peer, 1234))
                async with httpx.AsyncClient(
                    transport=transport, base_url="https://parley.example"
                ) as client:
                    registered = (
                        await client.post(
                            "/api/auth/register",
                            json=new_account(),
                            headers={
                                "X-Forwarded-For": forwarded,
                                "Parley-Token-Transport": "body",
                            },
                        )
                    ).json()
                    listed = await client.get(
                        "/api/auth/sessions",
                        headers={"Authorization": f"Bearer {registered['access_token']}"},
                    )
                assert [s["ip"] for s in listed.json()["data"]] == [expected], (peer, forwarded)


async def _age(gw: Any, token: str, seconds: float) -> None:
    async with gw.db.session() as session:
        record = await session.get(RefreshToken, token_hash(token))
        assert record is not None
        assert record.rotated_at is not None
        record.rotated_at = record.rotated_at - timedelta(seconds=seconds)


def _account() -> dict[str, str]:
    tag = uuid.uuid4().hex[:8]
    return {
        "email": f"gw-{tag}@example.com",
        "username": f"gw_{tag}",
        "password": "correct horse 42",
    }


class TestCookieLifetime:
    async def test_max_age_is_what_is_left_of_the_sign_in(
        self, gw: Any, visitor: Callable[..., httpx.AsyncClient]
    ) -> None:
        async with visitor() as browser:
            registered = await browser.post("/api/auth/register", json=_account())
            assert 30 * 24 * 3600 - 60 <= _max_age(registered) <= 30 * 24 * 3600
            session_id = uuid.UUID(sid(registered.json()["access_token"]))
            async with gw.db.session() as session:
                family = await session.get(AuthSession, session_id)
                assert family is not None
                family.expires_at = utcnow() + timedelta(days=2)
                session.add(family)
            refreshed = await browser.post("/api/auth/refresh", headers=CSRF)
            assert refreshed.status_code == 200
            assert 2 * 24 * 3600 - 60 <= _max_age(refreshed) <= 2 * 24 * 3600


def _max_age(response: httpx.Response) -> int:
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(COOKIE + "=")
    [value] = [p.split("=", 1)[1] for p in cookie.split("; ") if p.lower().startswith("max-age=")]
    return int(value)
