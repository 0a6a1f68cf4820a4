"""Liveness and readiness: `/healthz` says the process is up, `/readyz` that its dependencies are.

HTTP services get both routes from `kit.app`; Celery workers and the mailer run
`serve_health_in_thread`, a tiny HTTP server that also exposes `/metrics`. A worker passes a
`draining` event and sets it on shutdown: `/readyz` then answers 503 while in-flight work
finishes, so orchestrators stop counting on it before it exits.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Awaitable, Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from kit.metrics import render_metrics

log = logging.getLogger(__name__)
AsyncCheck = Callable[[], Awaitable[object]]
SyncCheck = Callable[[], object]


async def run_checks(checks: dict[str, AsyncCheck], timeout: float = 3.0) -> dict[str, str]:
    async def one(check: AsyncCheck) -> str:
        try:
            await asyncio.wait_for(check(), timeout)
        except Exception as exc:
            return f"error: {type(exc).__name__}"
        return "ok"

    results = await asyncio.gather(*(one(check) for check in checks.values()))
    return dict(zip(checks, results, strict=True))


def warn_if_forking_pool(consumer: object) -> None:
    """Celery `worker_ready` helper: metrics live in one process, so a forking pool hides them."""
    pool = getattr(getattr(consumer, "controller", None), "pool_cls", None)
    if "prefork" in getattr(pool, "__module__", ""):
        log.warning(
            "started with a forking pool: metrics recorded in child processes are not "
            "exported; run the worker with -P threads (or gevent)"
        )


def broker_check(broker_url: str, timeout: float = 2.0) -> SyncCheck:
    """A readiness check that opens (and closes) a connection to the broker: Redis or AMQP."""

    def check() -> None:
        from kombu import Connection

        with Connection(broker_url, connect_timeout=timeout) as conn:
            conn.ensure_connection(
                max_retries=1, interval_start=0, interval_step=0, timeout=timeout
            )

    return check


def serve_health_in_thread(
    host: str,
    port: int,
    checks: dict[str, SyncCheck],
    *,
    draining: threading.Event | None = None,
) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/metrics":
                body, content_type = render_metrics()
                self._send(200, body, content_type)
            elif self.path == "/healthz":
                self._json(200, {"status": "ok"})
            elif self.path == "/readyz" and draining is not None and draining.is_set():
                self._json(503, {"status": "draining", "checks": {}})
            elif self.path == "/readyz":
                results: dict[str, str] = {}
                for name, check in checks.items():
                    try:
                        check()
                        results[name] = "ok"
                    except Exception as exc:
                        results[name] = f"error: {type(exc).__name__}"
                ok = all(v == "ok" for v in results.values())
                self._json(
                    200 if ok else 503, {"status": "ok" if ok else "unavailable", "checks": results}
                )
            else:
                self._json(404, {"status": 404, "code": "not_found"})

        def _json(self, status: int, body: object) -> None:
            self._send(status, json.dumps(body).encode(), "application/json")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="health", daemon=True).start()
    return server
