"""The gateway: the only public entry (DESIGN.md §1).

It verifies access tokens, owns the refresh cookie, applies CORS, CSRF and body limits, proxies
`/api/*` to auth or chat (never `/internal/*` or `/metrics`), serves the web UI, and in
development shows the caught mail at `/dev/mail`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from redis.asyncio import Redis
from starlette.responses import JSONResponse, Response

from gateway import proxy, routes, tokens, web
from gateway.config import Settings, settings
from kit.app import create_app
from kit.errors import NotFound
from kit.health import serve_health_in_thread
from kit.jwt import JWKSVerifier, http_jwks
from kit.logging import configure_logging

UPLOAD_PATHS = ("/api/users/me/avatar",)


def build_app(config: Settings = settings, *, serve_metrics: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        limits = httpx.Limits(max_connections=1000, max_keepalive_connections=200)
        timeout = httpx.Timeout(config.upstream_timeout, connect=5.0)
        http = httpx.AsyncClient(timeout=timeout, limits=limits)
        redis = Redis.from_url(config.redis_url)
        app.state.http = http
        app.state.redis = redis
        app.state.verifier = JWKSVerifier(
            http_jwks(config.jwks_url, http), issuer=config.jwt_issuer, audience=config.jwt_audience
        )
        app.state.upstreams = {routes.AUTH: config.auth_url, routes.CHAT: config.chat_url}

        async def upstreams_ready() -> None:
            for base in app.state.upstreams.values():
                (await http.get(f"{base}/healthz", timeout=2)).raise_for_status()

        app.state.checks = {"redis": redis.ping, "upstreams": upstreams_ready}
        metrics_server = (
            serve_health_in_thread(config.host, config.metrics_port, {}) if serve_metrics else None
        )
        try:
            yield
        finally:
            if metrics_server is not None:
                metrics_server.shutdown()
            await http.aclose()
            await redis.aclose()

    app = create_app(
        service="gateway",
        title="Parley gateway",
        lifespan=lifespan,
        expose_metrics=False,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    if config.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=config.cors_origins,
            allow_credentials=True,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "Last-Event-ID",
                           "X-Parley-CSRF", "Parley-Token-Transport", "X-Request-ID"],
            expose_headers=["Retry-After", "X-Request-ID"],
            max_age=600,
        )
    from gateway.security import SecurityHeadersMiddleware

    app.add_middleware(SecurityHeadersMiddleware, hsts=config.cookie_secure and config.public_url.startswith("https"))

    @app.get("/.well-known/jwks.json", include_in_schema=False)
    async def jwks(request: Request) -> Response:
        upstream = await request.app.state.http.get(f"{config.auth_url}/.well-known/jwks.json")
        return Response(upstream.content, upstream.status_code, media_type="application/json")

    @app.get("/api/openapi.json", include_in_schema=False)
    async def openapi(request: Request) -> JSONResponse:
        return JSONResponse(await merged_openapi(request.app.state.http, config))

    @app.api_route("/dev/mail{rest:path}", methods=["GET"], include_in_schema=False)
    async def dev_mail(request: Request, rest: str) -> Response:
        if config.env != "development" or not config.dev_mail_url:
            raise NotFound()
        upstream = await proxy.send_upstream(request.app.state.http, request, config.dev_mail_url, b"")
        return proxy.stream_back(upstream)

    @app.api_route("/api/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    async def api(request: Request, rest: str) -> Response:
        return await forward(request, config)

    @app.get("/{path:path}", include_in_schema=False)
    async def web_ui(path: str) -> Response:
        return web.serve(config.web_dir, path)

    return app


async def forward(request: Request, config: Settings) -> Response:
    path = request.url.path
    upstream = routes.upstream_for(path)
    if upstream is None:
        raise NotFound("No such API route.")
    request.scope["route_label"] = next(p for p, _ in routes.PREFIXES if path.startswith(p.rstrip("/")))
    if not upstream.public:
        await tokens.verify_access(request, request.app.state.verifier, request.app.state.redis)
    limit = config.max_upload_bytes if path in UPLOAD_PATHS else config.max_json_bytes
    body = await proxy.read_body(request, limit)
    content_type = None
    if path in routes.COOKIE_READERS and request.method == "POST":
        body = tokens.cookie_to_body(request, body, config)
        content_type = "application/json"
    base_url = request.app.state.upstreams[upstream.name]
    response = await proxy.send_upstream(
        request.app.state.http, request, base_url, body, content_type=content_type
    )
    if path in routes.TOKEN_ISSUERS and response.is_success and not tokens.wants_body_transport(request):
        return await with_refresh_cookie(response, config)
    if path == "/api/auth/logout" and not tokens.wants_body_transport(request):
        await response.aclose()
        result = Response(status_code=response.status_code)
        tokens.clear_refresh_cookie(result, config)
        return result
    return proxy.stream_back(response)


async def with_refresh_cookie(upstream: httpx.Response, config: Settings) -> Response:
    try:
        payload: dict[str, Any] = json.loads(await upstream.aread())
    finally:
        await upstream.aclose()
    token = tokens.move_token_to_cookie(payload)
    response = JSONResponse(payload, status_code=upstream.status_code)
    if token is not None:
        tokens.set_refresh_cookie(response, config, token, max_age=30 * 24 * 3600)
    return response


async def merged_openapi(http: httpx.AsyncClient, config: Settings) -> dict[str, Any]:
    """One OpenAPI document for the public API, from auth's and chat's own documents."""
    merged: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "Parley API", "version": "1"},
        "paths": {},
        "components": {"schemas": {}},
    }
    for base in (config.auth_url, config.chat_url):
        document = (await http.get(f"{base}/openapi.json")).json()
        for path, item in document.get("paths", {}).items():
            if path.startswith("/api/"):
                merged["paths"][path] = item
        merged["components"]["schemas"].update(document.get("components", {}).get("schemas", {}))
    return merged


configure_logging("gateway", settings.log_level)
app = build_app()
