"""The workers' health server (kit.health): readiness checks, the draining state, pool warning."""

from __future__ import annotations

import logging
import threading
from types import SimpleNamespace

import httpx
import pytest

from kit.health import broker_check, serve_health_in_thread, warn_if_forking_pool
from parley_testing.ports import free_port
from parley_testing.redis_server import RedisServer


def test_readyz_reports_checks_and_says_draining_once_shutdown_starts(
    redis_server: RedisServer,
) -> None:
    draining = threading.Event()
    dead_broker = f"redis://127.0.0.1:{free_port()}/0"
    server = serve_health_in_thread(
        "127.0.0.1", 0, {"broker": broker_check(redis_server.url)}, draining=draining
    )
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        ready = httpx.get(f"{base}/readyz")
        assert (ready.status_code, ready.json()) == (
            200,
            {"status": "ok", "checks": {"broker": "ok"}},
        )
        assert httpx.get(f"{base}/metrics").headers["content-type"].startswith("text/plain")

        draining.set()
        drained = httpx.get(f"{base}/readyz")
        assert (drained.status_code, drained.json()["status"]) == (503, "draining")
        assert httpx.get(f"{base}/healthz").status_code == 200  # still alive: do not kill it
    finally:
        server.shutdown()
        server.server_close()

    with pytest.raises(Exception, match="111|refused|Connection"):
        broker_check(dead_broker, timeout=1)()


def test_a_forking_pool_is_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    class PreforkPool:
        __module__ = "celery.concurrency.prefork"

    class TaskPool:
        __module__ = "celery.concurrency.thread"

    with caplog.at_level(logging.WARNING, logger="kit.health"):
        warn_if_forking_pool(SimpleNamespace(controller=SimpleNamespace(pool_cls=TaskPool)))
        assert caplog.records == []
        warn_if_forking_pool(SimpleNamespace(controller=SimpleNamespace(pool_cls=PreforkPool)))
    assert "-P threads" in caplog.text
