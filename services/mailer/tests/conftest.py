"""Mailer fixtures: a scriptable real SMTP server, a clean Redis broker, in-process mailers."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser, Parser
from pathlib import Path
from typing import Any

import pytest
import redis
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from mailer.config import MailerSettings
from mailer.main import Mailer
from parley_testing.ports import free_port, wait_ready
from parley_testing.redis_server import RedisServer

WAIT = 15.0


class ScriptedSmtp:
    """A real aiosmtpd server on 127.0.0.1 whose replies the test chooses, and can stop and restart.

    `rcpt_reply` answers RCPT TO (None: accept); DATA takes the next reply from `script`, else
    `data_reply`. Only mail answered with 250 counts as delivered (`accepted`).
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.rcpt_reply: str | None = None
        self.data_reply = "250 OK: queued"
        self.script: deque[str] = deque()
        self.accepted: list[tuple[list[str], EmailMessage]] = []
        self.data_attempts = 0
        self.rcpt_attempts = 0
        self.data_delay = 0.0  # seconds DATA takes to answer (a slow server)
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    # aiosmtpd handler hooks (run on the server's own thread and loop)
    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        with self._lock:
            self.rcpt_attempts += 1
            reply = self.rcpt_reply
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self._lock:
            self.data_attempts += 1
            delay = self.data_delay
        if delay:
            await asyncio.sleep(delay)
        with self._lock:
            reply = self.script.popleft() if self.script else self.data_reply
            if reply.startswith("250"):
                raw = envelope.original_content or b""
                try:  # SMTPUTF8 mail has UTF-8 headers
                    message = Parser(policy=policy.default).parsestr(raw.decode("utf-8"))
                except UnicodeDecodeError:
                    message = BytesParser(policy=policy.default).parsebytes(raw)
                assert isinstance(message, EmailMessage)
                self.accepted.append(([str(r) for r in envelope.rcpt_tos], message))
        return reply

    def start(self, **smtp_options: Any) -> None:
        """Listen; `smtp_options` go to aiosmtpd (`ssl_context`, `tls_context`, ...)."""
        self._options = smtp_options or getattr(self, "_options", {})
        self._controller = Controller(
            self, hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=True, **self._options
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def mails_to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [message for rcpts, message in self.accepted if address in rcpts]


@pytest.fixture
def smtp() -> Iterator[ScriptedSmtp]:
    server = ScriptedSmtp(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mailer_redis(redis_server: RedisServer) -> str:
    """A Redis database of its own (broker and ledger), so other packages' keys are untouched."""
    return redis_server.url.rsplit("/", 1)[0] + "/7"


@pytest.fixture
def broker_url(mailer_redis: str) -> str:
    with redis.Redis.from_url(mailer_redis) as client:
        client.flushdb()
    return mailer_redis


def make_settings(redis_url: str, smtp_port: int, **overrides: Any) -> MailerSettings:
    values: dict[str, Any] = {
        "REDIS_URL": redis_url,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": smtp_port,
        "MAILER_PORT": 0,
        "MAILER_CONCURRENCY": 4,
        "MAILER_MAX_ATTEMPTS": 4,
        "MAILER_RETRY_BASE_SECONDS": 0.05,
        "MAILER_RETRY_MAX_SECONDS": 0.2,
        "MAILER_SMTP_TIMEOUT": 5,
        "MAILER_CLAIM_LEASE_SECONDS": 2,
        "MAILER_SHUTDOWN_GRACE_SECONDS": 5,
        "PARLEY_PUBLIC_URL": "http://parley.test:8000",
    }
    values.update(overrides)
    return MailerSettings(**values)


@pytest.fixture
async def start_mailer(
    broker_url: str, smtp: ScriptedSmtp
) -> AsyncIterator[Callable[..., Awaitable[Mailer]]]:
    """Start an in-process mailer (settings overridable by env name); all are stopped at the end."""
    started: list[Mailer] = []

    async def start(**overrides: Any) -> Mailer:
        settings = make_settings(overrides.pop("REDIS_URL", broker_url), smtp.port, **overrides)
        mailer = Mailer(settings)
        await mailer.start()
        started.append(mailer)
        assert mailer.consumer is not None
        ok = await asyncio.to_thread(mailer.consumer.connected.wait, WAIT)
        assert ok, "the mailer did not connect to the broker"
        return mailer

    yield start
    for mailer in started:
        if not mailer.handler.stopping.is_set():
            await mailer.stop()


@pytest.fixture
async def mailer(start_mailer: Callable[..., Awaitable[Mailer]]) -> Mailer:
    return await start_mailer()


@dataclass
class MailerProcess:
    """`python -m mailer`, as `parley up` runs it."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def terminate(self, timeout: float = WAIT) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(WAIT)


@pytest.fixture
def mailer_process(
    broker_url: str, smtp: ScriptedSmtp, tmp_path: Path
) -> Iterator[Callable[..., Awaitable[MailerProcess]]]:
    """Start the mailer as a process (env overridable); waits until /readyz says ready."""
    started: list[MailerProcess] = []

    async def start(**env: str) -> MailerProcess:
        port = free_port()
        settings = {
            "REDIS_URL": broker_url,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp.port),
            "SMTP_TLS": "none",
            "MAILER_PORT": str(port),
            "MAILER_RETRY_BASE_SECONDS": "0.05",
            "MAILER_RETRY_MAX_SECONDS": "0.2",
            "MAILER_MAX_ATTEMPTS": "4",
            "MAILER_CLAIM_LEASE_SECONDS": "2",
            "MAILER_SHUTDOWN_GRACE_SECONDS": "10",
        }
        log = tmp_path / f"mailer-{len(started)}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "mailer"],
                env={**os.environ, **settings, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        running = MailerProcess(process, port, log)
        started.append(running)
        try:
            await asyncio.to_thread(wait_ready, f"{running.url}/readyz", WAIT)
        except TimeoutError as exc:
            raise AssertionError(f"mailer not ready:\n{log.read_text()[-3000:]}") from exc
        return running

    yield start
    for running in started:
        if running.process.poll() is None:
            running.kill()
