"""Prometheus metrics shared by every process (docs/DESIGN.md §8).

HTTP metrics are recorded by `HttpMetricsMiddleware` with the route *template* as label, so a
path full of ids never becomes a new series. Labels never carry user ids, emails or tokens.
The `*_created` companion series are turned off: they double the series count and Prometheus
does not need them (every process imports this module before defining its metrics).
"""

from __future__ import annotations

import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

disable_created_metrics()

HTTP_REQUESTS = Counter(
    "parley_http_requests_total",
    "HTTP requests handled.",
    ["service", "method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "parley_http_request_duration_seconds",
    "Time to handle an HTTP request, until the response starts.",
    ["service", "method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
OUTBOX_PENDING = Gauge(
    "parley_outbox_pending", "Events written to the outbox and not yet published.", ["service"]
)


def _route_template(scope: Scope) -> str:
    if isinstance(label := scope.get("route_label"), str):  # set by catch-all handlers
        return label
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class HttpMetricsMiddleware:
    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == "/metrics":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                HTTP_DURATION.labels(self.service, scope["method"], _route_template(scope)).observe(
                    time.perf_counter() - start
                )
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            HTTP_REQUESTS.labels(
                self.service, scope["method"], _route_template(scope), str(status)
            ).inc()


def render_metrics(registry: CollectorRegistry = REGISTRY) -> tuple[bytes, str]:
    return generate_latest(registry), CONTENT_TYPE_LATEST


async def metrics_endpoint(_: Request) -> Response:
    body, content_type = render_metrics()
    return Response(body, media_type=content_type)
