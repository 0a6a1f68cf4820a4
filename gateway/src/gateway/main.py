"""The gateway: the only public entry (docs/DESIGN.md §1).

It verifies access tokens, owns the refresh cookie, applies CORS, CSRF and body limits, proxies
`/api/*` to auth or chat (never `/internal/*` or `/metrics`), serves the web UI, and in
development shows the caught mail at `/dev/mail`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import httpx
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from starlette.middleware import Middleware
from starlette.responses import JSONResponse, Response

from gateway import api_keys, docs, proxy, routes, tokens, web
from gateway import openapi as openapi_document
from gateway.clientip import ClientAddress
from gateway.config import Settings, settings
from gateway.fastpath import ProxyFastPath
from gateway.security import SecurityHeadersMiddleware
from kit import api_keys as keys
from kit.app import create_app
from kit.errors import Forbidden, NotFound
from kit.health import serve_health_in_thread
from kit.jwt import JWKSVerifier, bearer_token, http_jwks
from kit.logging import configure_logging
from kit.ratelimit import RateLimiter
from kit.redis_clients import async_redis

GATEWAY_API_PATHS = frozenset({"/api/openapi.json", "/api/docs"})  # served by the gateway itself


def build_app(config: Settings = settings, *, serve_metrics: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        limits = httpx.Limits(max_connections=1000, max_keepalive_connections=200)
        timeout = httpx.Timeout(config.upstream_timeout, connect=5.0)
        http = httpx.AsyncClient(timeout=timeout, limits=limits)
        redis = async_redis(config.redis_url)
        app.state.http = http  # control plane: JWKS, readiness, OpenAPI
        app.state.upstream = proxy.upstream_session(read_timeout=config.upstream_timeout)
        app.state.redis = redis
        verifier = JWKSVerifier(
            http_jwks(config.jwks_url, http),
            issuer=config.jwt_issuer,
            audience=config.jwt_audience,
            min_refetch_seconds=config.jwks_refetch_seconds,
        )
        app.state.access = tokens.AccessVerifier(verifier, redis)
        app.state.keys = api_keys.KeyExchange(
            http,
            config.auth_url,
            config.internal_token,
            verifier,
            RateLimiter(redis),
            config.api_key_requests_per_minute,
        )
        app.state.client_address = ClientAddress(config.trusted_proxies)
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
            await app.state.upstream.close()
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
            allow_headers=[
                "Authorization",
                "Content-Type",
                "Idempotency-Key",
                "Last-Event-ID",
                "X-Parley-CSRF",
                "Parley-Token-Transport",
                "X-Request-ID",
            ],
            expose_headers=["Retry-After", "X-Request-ID", "RateLimit", "RateLimit-Policy"],
            max_age=600,
        )
    app.add_middleware(
        SecurityHeadersMiddleware,
        hsts=config.cookie_secure and config.public_url.startswith("https"),
    )

    @app.get("/.well-known/jwks.json", include_in_schema=False)
    async def jwks(request: Request) -> Response:
        upstream = await request.app.state.http.get(f"{config.auth_url}/.well-known/jwks.json")
        return Response(upstream.content, upstream.status_code, media_type="application/json")

    @app.get("/api/openapi.json", include_in_schema=False)
    async def openapi(request: Request) -> JSONResponse:
        return JSONResponse(await openapi_document.fetch(request.app.state.http, config))

    app.include_router(docs.router)

    @app.api_route("/dev/mail{rest:path}", methods=["GET"], include_in_schema=False)
    async def dev_mail(request: Request, rest: str) -> Response:
        if config.env != "development" or not config.dev_mail_url:
            raise NotFound()
        upstream = await proxy.send_upstream(
            request.app.state.upstream,
            request,
            config.dev_mail_url,
            b"",
            client_ip=request.app.state.client_address(request),
        )
        return proxy.stream_back(upstream)

    async def api(request: Request) -> Response:
        return await forward(request, config)

    # innermost of the middlewares: request id, metrics, security headers and CORS still apply
    app.user_middleware.append(Middleware(ProxyFastPath, handler=api, own_paths=GATEWAY_API_PATHS))

    @app.get("/{path:path}", include_in_schema=False)
    async def web_ui(path: str) -> Response:
        response = web.serve(config.web_dir, path)
        if response is None:
            raise NotFound()
        return response

    return app


async def forward(request: Request, config: Settings) -> Response:
    """Authenticate as the route says, send the request on, apply the route's policy."""
    path: str = request.scope["path"]  # the raw scope: cheaper than building request.url
    route = routes.route_for(path)
    if route is None:
        raise NotFound("No such API route.")
    request.scope["route_label"] = routes.label_for(path)
    state = request.app.state
    revocation = await _authenticate(request, route)
    body_transport = tokens.wants_body_transport(request)
    try:
        body = await proxy.read_body(
            request, config.max_upload_bytes if route.upload else config.max_json_bytes
        )
        content_type = None
        if route.reads_cookie and request.method == "POST":
            body = tokens.cookie_to_body(request, body, config)
            content_type = "application/json"
        response = await proxy.send_upstream(
            state.upstream,
            request,
            state.upstreams[route.upstream],
            body,
            client_ip=state.client_address(request),
            content_type=content_type,
        )
    except BaseException:
        if revocation is not None:
            _discard(revocation)
        raise
    if revocation is not None:
        try:
            await revocation
        except BaseException:
            response.close()
            raise
    result = await _answer(request, route, response, config, body_transport=body_transport)
    if not route.public:
        # what a signed-in caller receives is theirs alone: no browser or proxy may keep it
        result.headers["cache-control"] = "no-store"
    return result


async def _authenticate(request: Request, route: routes.Route) -> asyncio.Future[None] | None:
    """The caller's token checked as the route asks. A read's revocation lookup is returned to
    run while the service answers (a read changes nothing; its answer is only released once the
    session is known to be live); a write's is done before anything is sent."""
    if route.public:
        return None
    access: tokens.AccessVerifier = request.app.state.access
    authorization = request.headers.get("authorization")
    if keys.is_api_key(token := bearer_token(authorization)):
        return await _authenticate_key(request, route, token)
    claims = await access.claims(authorization)
    if route.staff and not claims.staff:
        raise Forbidden("Only staff may do this.")
    if request.method in routes.SAFE_METHODS:
        return asyncio.ensure_future(access.check_not_revoked(claims))
    await access.check_not_revoked(claims)
    return None


async def _authenticate_key(
    request: Request, route: routes.Route, key: str
) -> asyncio.Future[None] | None:
    """An API key: its scope checked at once; its revocation and request rate in one Redis
    call, which a read runs while the service answers (as a token's revocation) and a write
    awaits before anything is sent. The service receives the access token the key was traded
    for (`api_keys`)."""
    exchange: api_keys.KeyExchange = request.app.state.keys
    traded = await exchange.trade(key)
    api_keys.check_scope(route.scope, request.method, traded.claims)
    request.scope[proxy.AUTHORIZATION_SCOPE_KEY] = f"Bearer {traded.token}"
    if request.method in routes.SAFE_METHODS:
        return asyncio.ensure_future(exchange.check_live(key, traded))
    await exchange.check_live(key, traded)
    return None


async def _answer(
    request: Request,
    route: routes.Route,
    response: aiohttp.ClientResponse,
    config: Settings,
    *,
    body_transport: bool,
) -> Response:
    """The upstream's answer, with the refresh cookie set or cleared as the route says (a
    program that asked for its tokens in the body has no cookie)."""
    if body_transport:
        return await proxy.respond(response)
    if route.issues_cookie and response.ok:
        return await with_refresh_cookie(response, config)
    result = await proxy.respond(response)
    if route.clears_cookie(request.method, response.status):
        tokens.clear_refresh_cookie(result, config)
    return result


def _discard(future: asyncio.Future[None]) -> None:
    future.cancel()
    if future.done() and not future.cancelled():
        future.exception()  # retrieved: no "exception was never retrieved" noise


async def with_refresh_cookie(upstream: aiohttp.ClientResponse, config: Settings) -> Response:
    payload: dict[str, Any] = json.loads(await proxy.read_all(upstream))
    token = tokens.move_token_to_cookie(payload)
    response = JSONResponse(payload, status_code=upstream.status)
    if token is not None:
        # the cookie lives as long as its sign-in (session family) can, not 30 days per rotation
        lifetime = payload.get("refresh_expires_in")
        max_age = lifetime if isinstance(lifetime, int) else 30 * 24 * 3600
        tokens.set_refresh_cookie(response, config, token, max_age=max_age)
    return response


configure_logging("gateway", settings.log_level)
app = build_app()
