"""The FastAPI application factory every HTTP service uses.

It wires the shared pieces in one place: request ids and JSON logs, HTTP metrics and `/metrics`,
problem+json errors, `/healthz` and `/readyz` (checks registered on `app.state.checks`).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from kit.errors import install_error_handlers
from kit.health import AsyncCheck, run_checks
from kit.logging import RequestIdMiddleware
from kit.metrics import HttpMetricsMiddleware, metrics_endpoint


def create_app(
    *,
    service: str,
    title: str,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
    expose_metrics: bool = True,
    **kwargs: Any,
) -> FastAPI:
    app = FastAPI(title=title, lifespan=lifespan, **kwargs)
    app.state.checks = {}
    install_error_handlers(app)
    app.add_middleware(HttpMetricsMiddleware, service=service)
    app.add_middleware(RequestIdMiddleware)
    if expose_metrics:  # the gateway serves its metrics on a private port instead
        app.add_route("/metrics", metrics_endpoint, include_in_schema=False)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        checks: dict[str, AsyncCheck] = request.app.state.checks
        results = await run_checks(checks)
        ok = all(value == "ok" for value in results.values())
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", "checks": results},
            status_code=200 if ok else 503,
        )

    return app
