from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from gateway import web
from gateway.config import Settings
from gateway.main import build_app
from parley_testing.ports import free_port
from parley_testing.redis_server import RedisServer

from .conftest import Gw

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
            refreshed = await program.post(
                "/api/auth/refresh", json={"refresh_token": token}, headers=body
            )
            assert refreshed.status_code == 200
            assert refreshed.json()["refresh_token"] != token

    async def test_logout_revokes_access_at_once_and_clears_the_cookie(
        self, gateway: httpx.AsyncClient, new_account: Callable[[], dict[str, str]]
    ) -> None:
        async with fresh_client(gateway) as browser:
            access = (await browser.post("/api/auth/register", json=new_account())).json()[
                "access_token"
            ]
            auth = {"Authorization": f"Bearer {access}"}
            assert (await browser.get("/api/dialogs", headers=auth)).status_code == 200
            logout = await browser.post("/api/auth/logout", headers=CSRF)
            assert logout.status_code == 204
            assert (
                'parley_refresh=""' in logout.headers["set-cookie"]
                or "Max-Age=0" in logout.headers["set-cookie"]
            )
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

    @pytest.mark.parametrize(
        "path",
        [
            "/internal/messages/x/answer",
            "/metrics",
            "/metrics/",
            "/v1",
            "/.well-known/other",
            "/assets/missing-abc123.js",
            "/dev/anything",
        ],
    )
    async def test_reserved_prefixes_are_404_not_the_app(
        self, gateway: httpx.AsyncClient, path: str, tmp_path: Path
    ) -> None:
        (tmp_path / "index.html").write_text("<!doctype html><p>the app</p>")
        (tmp_path / "assets").mkdir()
        (tmp_path / "assets" / "app-1.js").write_text("console.log(1)")
        assert web.serve(tmp_path, "/dialogs/123") is not None  # app routes still get the app
        assert web.serve(tmp_path, "/assets/app-1.js") is not None
        assert web.serve(tmp_path, path) is None
        response = await gateway.get(path)
        assert response.status_code == 404
        assert "text/html" not in response.headers["content-type"]

    async def test_authenticated_answers_are_not_stored(self, gw: Gw) -> None:
        user = await gw.register()
        created = await gw.client.post("/api/dialogs", json={"name": "x"}, headers=user["auth"])
        dialog_id = created.json()["id"]
        for path in (
            "/api/dialogs",
            f"/api/dialogs/{dialog_id}",
            f"/api/dialogs/{dialog_id}/messages",
            "/api/models",
            "/api/webhooks",
            "/api/users/me",
        ):
            response = await gw.client.get(path, headers=user["auth"])
            assert response.status_code == 200, path
            assert response.headers["cache-control"] == "no-store", path
        assert created.headers["cache-control"] == "no-store"
        refused = await gw.client.get(f"/api/dialogs/{uuid.uuid4()}", headers=user["auth"])
        assert refused.status_code == 404
        assert refused.headers["cache-control"] == "no-store"

    async def test_unknown_api_route_is_problem_404(self, gateway: httpx.AsyncClient) -> None:
        response = await gateway.get("/api/nothing-here")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"

    async def test_oversized_body_is_413(self, gateway: httpx.AsyncClient) -> None:
        response = await gateway.post(
            "/api/auth/login",
            content=b"x" * 1_000_001,
            headers={"content-type": "application/json"},
        )
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
        allowed = await gateway.options(
            "/api/auth/login", headers={"Origin": "https://app.example", **preflight}
        )
        assert allowed.headers["access-control-allow-origin"] == "https://app.example"
        assert allowed.headers["access-control-allow-credentials"] == "true"
        refused = await gateway.options(
            "/api/auth/login", headers={"Origin": "https://evil.example", **preflight}
        )
        assert "access-control-allow-origin" not in refused.headers

    async def test_merged_openapi_lists_both_services(self, gateway: httpx.AsyncClient) -> None:
        document = (await gateway.get("/api/openapi.json")).json()
        paths = document["paths"]
        assert "/api/auth/register" in paths
        assert "/api/dialogs" in paths
        assert not any(p.startswith("/internal") for p in paths)
        # what the gateway adds: who may call, and what an error looks like
        assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
        assert paths["/api/dialogs"]["get"]["security"] == [{"bearer": []}]
        assert paths["/api/auth/login"]["post"]["security"] == []
        responses = paths["/api/dialogs"]["post"]["responses"]
        assert set(responses["401"]["content"]) == {"application/problem+json"}
        problem = responses["422"]["content"]["application/problem+json"]["schema"]
        assert problem == {"$ref": "#/components/schemas/ValidationProblem"}
        assert "4XX" in responses
        assert "503" in responses
        register = paths["/api/auth/register"]["post"]["responses"]
        assert set(register["429"]["headers"]) == {"Retry-After", "RateLimit", "RateLimit-Policy"}
        # the OpenAI-compatible API, with OpenAI's errors
        completions = paths["/v1/chat/completions"]["post"]
        assert completions["security"] == [{"bearer": []}]
        assert "422" not in completions["responses"]
        openai_error = completions["responses"]["400"]["content"]["application/json"]["schema"]
        assert openai_error == {"$ref": "#/components/schemas/OpenAIError"}
        assert "/v1/models" in paths

    @pytest.mark.parametrize(
        ("method", "path", "allow"),
        [
            ("PUT", "/api/dialogs", "GET, POST"),
            ("PUT", f"/api/dialogs/{uuid.uuid4()}", "DELETE, GET, PATCH"),
            ("TRACE", "/api/models", "GET"),
            ("POST", "/api/users/me", "DELETE, GET, PATCH"),
        ],
    )
    async def test_405_names_every_method_of_the_path(
        self, gw: Gw, method: str, path: str, allow: str
    ) -> None:
        user = await gw.register()
        response = await gw.client.request(method, path, headers=user["auth"])
        assert response.status_code == 405, response.text
        assert response.headers["allow"] == allow
        assert response.headers["content-type"] == "application/problem+json"


class TestHardening:
    async def test_cors_varies_on_origin_and_never_wildcards(
        self, gateway: httpx.AsyncClient
    ) -> None:
        allowed = await gateway.post(
            "/api/auth/login", json={}, headers={"Origin": "https://app.example"}
        )
        assert allowed.headers["access-control-allow-origin"] == "https://app.example"
        assert "origin" in allowed.headers["vary"].lower()
        foreign = await gateway.post(
            "/api/auth/login", json={}, headers={"Origin": "https://evil.example"}
        )
        assert "access-control-allow-origin" not in foreign.headers
        assert all(v != "*" for k, v in allowed.headers.items() if k.startswith("access-control"))

    async def test_hsts_and_no_store_on_auth_answers(self, gateway: httpx.AsyncClient) -> None:
        response = await gateway.post(
            "/api/auth/login", json={"email": "a@example.com", "password": "x"}
        )
        assert response.headers["strict-transport-security"].startswith("max-age=")
        assert response.headers["cache-control"] == "no-store"

    async def test_docs_page_and_new_paths_in_the_merged_document(
        self, gateway: httpx.AsyncClient
    ) -> None:
        docs = await gateway.get("/api/docs")
        assert docs.status_code == 200
        assert "/api/openapi.json" in docs.text
        paths = (await gateway.get("/api/openapi.json")).json()["paths"]
        for path in (
            "/api/auth/sessions",
            "/api/auth/password/forgot",
            "/api/users/me/avatar",
            "/api/avatars/{name}",
            "/api/admin/users",
        ):
            assert path in paths

    async def test_redis_down_means_503_not_500_nor_a_free_pass(
        self,
        gateway_settings: Any,
        new_account: Callable[[], dict[str, str]],
        gateway: httpx.AsyncClient,
    ) -> None:

        token = (
            await gateway.post(
                "/api/auth/register", json=new_account(), headers={"Parley-Token-Transport": "body"}
            )
        ).json()["access_token"]
        broken = gateway_settings.model_copy(
            update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"}
        )
        app = build_app(broken, serve_metrics=False)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, client=("100.98.0.1", 1))
            async with httpx.AsyncClient(
                transport=transport, base_url="https://parley.example"
            ) as client:
                response = await client.get(
                    "/api/dialogs", headers={"Authorization": f"Bearer {token}"}
                )
        assert response.status_code == 503
        assert response.json()["code"] == "unavailable"

    async def test_dot_segments_never_reach_a_service(self, gateway: httpx.AsyncClient) -> None:
        for path in (
            "/api/messages/..%2F..%2Finternal%2Fmessages%2Fx%2Fanswer",
            "/api/avatars/%2e%2e/%2e%2e/internal/messages/x/answer",
            "/api/dialogs/%2E%2E/%2E%2E/metrics",
            "/api/avatars/..%5C..%5Cauth.db",
        ):
            response = await gateway.post(path, json={})
            assert response.status_code == 404, path
            assert response.json()["code"] == "not_found"


class TestSettings:
    def test_wildcard_cors_and_bad_proxy_lists_are_refused(self) -> None:
        with pytest.raises(ValidationError):
            Settings(PARLEY_CORS_ORIGINS="https://a.example, *")
        with pytest.raises(ValidationError):
            Settings(PARLEY_TRUSTED_PROXIES="10.0.0.0/8, not-an-ip")
        assert [
            str(n) for n in Settings(PARLEY_TRUSTED_PROXIES="10.0.0.0/8,::1").trusted_proxies
        ] == [
            "10.0.0.0/8",
            "::1/128",
        ]

    async def test_other_methods_on_api_paths_are_405(self, gw: Gw) -> None:
        user = await gw.register()
        response = await gw.client.request("TRACE", "/api/dialogs", headers=user["auth"])
        assert response.status_code == 405
        assert response.json()["code"] == "method_not_allowed"
        assert response.headers["allow"] == "GET, POST"
        # the token is checked first, as for any method
        assert (await gw.client.request("TRACE", "/api/dialogs")).status_code == 401


class TestApiDocs:
    async def test_docs_work_offline_from_bundled_assets(self, gateway: httpx.AsyncClient) -> None:
        page = await gateway.get("/api/docs")
        assert page.status_code == 200
        assert "cdn" not in page.text
        for src in (
            "/docs-assets/swagger-ui-bundle.js",
            "/docs-assets/init.js",
            "/docs-assets/swagger-ui.css",
        ):
            assert src in page.text
            asset = await gateway.get(src)
            assert asset.status_code == 200, src
            assert len(asset.content) > 10
        # only the listed assets, not whatever else lies in the bundle's folder
        assert (await gateway.get("/docs-assets/index.j2")).status_code == 404


class TestHungRedis:
    async def test_requests_give_up_fast_and_readiness_follows(
        self, gw: Gw, redis_server: RedisServer
    ) -> None:
        """Redis accepts connections but answers nothing (SIGSTOP): 503 within 2 s, then at once
        while the breaker is open; /readyz red meanwhile and green soon after Redis is back."""
        user = await gw.register()
        assert (await gw.client.get("/api/dialogs", headers=user["auth"])).status_code == 200
        assert redis_server.process is not None
        redis_server.process.send_signal(signal.SIGSTOP)
        try:
            timings = []
            for _ in range(4):
                started = time.monotonic()
                response = await gw.client.get("/api/dialogs", headers=user["auth"])
                timings.append(time.monotonic() - started)
                assert response.status_code == 503, response.text
                assert response.headers["retry-after"]
            assert max(timings) < 2.0, timings
            assert min(timings[1:]) < 0.5, timings  # the breaker answers without waiting
            ready = await gw.client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["checks"]["redis"].startswith("error")
        finally:
            redis_server.process.send_signal(signal.SIGCONT)
        deadline = time.monotonic() + 5
        while (await gw.client.get("/readyz")).status_code != 200:
            assert time.monotonic() < deadline, "readiness did not turn green"
            await asyncio.sleep(0.2)
        assert (await gw.client.get("/api/dialogs", headers=user["auth"])).status_code == 200


def test_the_route_table_gives_each_path_its_policy() -> None:
    """Exact paths, then id-bearing patterns, then prefixes: who may call, and the body limit."""
    from gateway.routes import route_for

    upload = route_for("/api/agents/6f1c2a3e-0000-4000-8000-000000000001/avatar")
    assert upload is not None
    assert (upload.upstream, upload.upload, upload.public) == ("chat", True, False)
    served = route_for("/api/agents/avatars/abc.webp")
    assert served is not None
    assert (served.upstream, served.public) == ("chat", True)
    agents = route_for("/api/agents/6f1c2a3e-0000-4000-8000-000000000001")
    assert agents is not None
    assert (agents.upload, agents.public) == (False, False)
    admin = route_for("/api/admin/users")
    assert admin is not None
    assert admin.staff
    assert route_for("/api/agents/avatars/../x") is None
    assert route_for("/api/nowhere") is None
