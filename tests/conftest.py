"""Edge servers shared by the end-to-end and operations suites: real servers on 127.0.0.1 that
stand in for the outside world (an SMTP server, an OpenAI-compatible model, a webhook receiver)."""

from __future__ import annotations

import email
import email.policy
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from parley_testing.model_server import ModelServer
from parley_testing.ports import free_port
from parley_testing.servers import serve_asgi


class Inbox:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.messages.append(message)
        return "250 OK"

    def wait_for(
        self, recipient: str, timeout: float = 20.0, *, subject: str | None = None
    ) -> EmailMessage:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for message in self.messages:
                    if recipient in str(message["To"]) and (
                        subject is None or message["Subject"] == subject
                    ):
                        return message
            time.sleep(0.05)
        raise TimeoutError(f"no mail to {recipient} ({subject or 'any subject'}) in {timeout}s")


@pytest.fixture(scope="session")
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


@pytest.fixture(scope="session")
def model_server() -> Iterator[tuple[ModelServer, str]]:
    server = ModelServer()
    with serve_asgi(server.app) as url:
        yield server, url


@pytest.fixture
def model(model_server: tuple[ModelServer, str]) -> ModelServer:
    """The test model, reset to an instant, well-behaved state for each test."""
    server, url = model_server
    httpx.post(f"{url}/_control", json={}).raise_for_status()
    httpx.delete(f"{url}/_control/requests").raise_for_status()
    return server


class Receiver:
    """A client's webhook endpoint: records every request, answers from a script."""

    def __init__(self) -> None:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import Response
        from starlette.routing import Route

        self.received: list[dict[str, Any]] = []
        self.script: list[tuple[int, dict[str, str]]] = []  # answers, in order; then 200s
        self.down: set[str] = set()  # paths that answer 503 to everything, until removed

        async def hook(request: Request) -> Response:
            self.received.append(
                {
                    "path": request.url.path,
                    "headers": dict(request.headers),
                    "body": await request.body(),
                    "at": time.time(),
                }
            )
            if request.url.path in self.down:
                return Response("down", status_code=503)
            status, headers = self.script.pop(0) if self.script else (200, {})
            return Response("ok" if status < 300 else "no", status_code=status, headers=headers)

        self.app = Starlette(routes=[Route("/{path:path}", hook, methods=["POST"])])

    def wait_for(self, count: int, path: str, timeout: float = 20.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            hits = [r for r in self.received if r["path"] == path]
            if len(hits) >= count:
                return hits
            time.sleep(0.05)
        raise TimeoutError(f"{len(hits)} of {count} webhook requests to {path} after {timeout}s")


@pytest.fixture(scope="session")
def receiver() -> Iterator[tuple[Receiver, str]]:
    hooks = Receiver()
    with serve_asgi(hooks.app) as url:
        yield hooks, url
