from __future__ import annotations

from collections.abc import Callable

import httpx

CSRF = {"X-Parley-CSRF": "1"}
COOKIE = "__Secure-parley_refresh"


def fresh_client(gateway: httpx.AsyncClient) -> httpx.AsyncClient:
    """A browser of its own (own cookie jar) on the same gateway."""
    return httpx.AsyncClient(transport=gateway._transport, base_url=str(gateway.base_url))


class TestRefreshCookie:
    async def test_register_sets_an_httponly_cookie_and_hides_the_token(
        self, gateway: httpx.AsyncClient, new_account: Callable[[], dict[str, str]]
    ) -> None:
        async with fresh_client(gateway) as browser:
            response = await browser.post("/api/auth/register", json=new_account())
            assert response.status_code == 201, response.text
            assert "refresh_token" not in response.json()
            cookie = response.headers["set-cookie"]
            assert cookie.startswith(f"{COOKIE}=")
            for attribute in ("HttpOnly", "Secure", "SameSite=lax", "Path=/api/auth"):
                assert attribute.lower() in cookie.lower()
            assert response.headers["cache-control"] == "no-store"

    async def test_refresh_with_cookie_and_csrf_rotates_the_cookie(
        self, gateway: httpx.AsyncClient, new_account: Callable[[], dict[str, str]]
    ) -> None:
        async with fresh_client(gateway) as browser:
            await browser.post("/api/auth/register", json=new_account())
            first = browser.cookies[COOKIE]
            refreshed = await browser.post("/api/auth/refresh", headers=CSRF)
            assert refreshed.status_code == 200, refreshed.text
            assert refreshed.json()["access_token"]
            assert browser.cookies[COOKIE] != first

    async def test_refresh_without_csrf_or_from_a_foreign_origin_is_refused_and_consumes_nothing(
        self, gateway: httpx.AsyncClient, new_account: Callable[[], dict[str, str]]
    ) -> None:
        async with fresh_client(gateway) as browser:
            await browser.post("/api/auth/register", json=new_account())
            cookie = browser.cookies[COOKIE]
            no_header = await browser.post("/api/auth/refresh")
            foreign = await browser.post(
                "/api/auth/refresh", headers={**CSRF, "Origin": "https://evil.example"}
            )
            for response in (no_header, foreign):
                assert response.status_code == 403
                assert response.json()["code"] == "csrf_failed"
            assert browser.cookies[COOKIE] == cookie
            allowed = await browser.post(
                "/api/auth/refresh", headers={**CSRF, "Origin": "https://app.example"}
            )
            assert allowed.status_code == 200

    async def test_body_transport_for_programs(
        self, gateway: httpx.AsyncClient, new_account: Callable[[], dict[str, str]]
    ) -> None:
        body = {"Parley-Token-Transport": "body"}
        async with fresh_client(gateway) as program:
            registered = await program.post("/api/auth/register", json=new_account(), headers=body)
            assert "set-cookie" not in registered.headers
            token = registered.json()["refresh_token"]
            refreshed = await program.post("/api/auth/refresh", json={"refresh_token": token}, headers=body)
            assert refreshed.status_code == 200
            assert refreshed.json()["refresh_token"] != token

    async def test_logout_revokes_access_at_once_and_clears_the_cookie(
        self, gateway: httpx.AsyncClient, new_account: Callable[[], dict[str, str]]
    ) -> None:
        async with fresh_client(gateway) as browser:
            access = (await browser.post("/api/auth/register", json=new_account())).json()["access_token"]
            auth = {"Authorization": f"Bearer {access}"}
            assert (await browser.get("/api/dialogs", headers=auth)).status_code == 200
            logout = await browser.post("/api/auth/logout", headers=CSRF)
            assert logout.status_code == 204
            assert 'parley_refresh=""' in logout.headers["set-cookie"] or "Max-Age=0" in logout.headers["set-cookie"]
            revoked = await browser.get("/api/dialogs", headers=auth)
            assert revoked.status_code == 401
            assert revoked.json()["code"] == "session_revoked"


class TestRouting:
    async def test_chat_needs_a_valid_token(self, gateway: httpx.AsyncClient) -> None:
        missing = await gateway.get("/api/dialogs")
        assert missing.status_code == 401
        assert missing.headers["content-type"] == "application/problem+json"
        forged = await gateway.get("/api/dialogs", headers={"Authorization": "Bearer a.b.c"})
        assert forged.status_code == 401

    async def test_internal_and_metrics_are_not_reachable(self, gateway: httpx.AsyncClient) -> None:
        for path in ("/internal/messages/x/answer", "/api/internal/messages/x/answer", "/metrics"):
            response = await gateway.post(path, json={})
            assert response.status_code in (404, 405), path
        assert "parley_http_requests_total" not in (await gateway.get("/metrics")).text

    async def test_unknown_api_route_is_problem_404(self, gateway: httpx.AsyncClient) -> None:
        response = await gateway.get("/api/nothing-here")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"

    async def test_oversized_body_is_413(self, gateway: httpx.AsyncClient) -> None:
        response = await gateway.post("/api/auth/login", content=b"x" * 1_000_001,
                                      headers={"content-type": "application/json"})
        assert response.status_code == 413
        assert response.json()["code"] == "payload_too_large"

    async def test_security_headers_and_request_id(self, gateway: httpx.AsyncClient) -> None:
        response = await gateway.get("/", headers={"X-Request-ID": "trace-me-1"})
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert response.headers["x-request-id"] == "trace-me-1"

    async def test_cors_echoes_only_allowed_origins(self, gateway: httpx.AsyncClient) -> None:
        preflight = {"Access-Control-Request-Method": "POST"}
        allowed = await gateway.options("/api/auth/login", headers={"Origin": "https://app.example", **preflight})
        assert allowed.headers["access-control-allow-origin"] == "https://app.example"
        assert allowed.headers["access-control-allow-credentials"] == "true"
        refused = await gateway.options("/api/auth/login", headers={"Origin": "https://evil.example", **preflight})
        assert "access-control-allow-origin" not in refused.headers

    async def test_merged_openapi_lists_both_services(self, gateway: httpx.AsyncClient) -> None:
        paths = (await gateway.get("/api/openapi.json")).json()["paths"]
        assert "/api/auth/register" in paths
        assert "/api/dialogs" in paths
        assert not any(p.startswith("/internal") for p in paths)
