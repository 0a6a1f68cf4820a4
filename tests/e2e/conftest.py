"""The whole stack, started as `parley up` starts it, on free ports, with edge servers we control.

Each backend (SQLite, and PostgreSQL when TEST_POSTGRES_URL is set) gets its own stack, data dir
and Redis. The SMTP server (aiosmtpd) and the OpenAI-compatible model server are real servers
on 127.0.0.1 owned by the test, standing in for the outside world.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from parley_testing.databases import create_pg_database, drop_database
from parley_testing.model_server import ModelServer
from parley_testing.ports import free_port_block
from parley_testing.redis_server import RedisServer
from tests.conftest import Inbox, Receiver  # noqa: F401  (used by the test modules)

READY_LINE = "Parley is ready at"


@dataclass
class Stack:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    ready_seconds: float
    env: dict[str, str] = field(default_factory=dict)
    start_log: str = ""  # what the processes said until the stack was ready
    redis_server: RedisServer | None = None  # the stack's own Redis (broker too), to restart

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=15)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def redis(self) -> Any:
        from redis import Redis

        return Redis.from_url(self.env["REDIS_URL"])

    def pid(self, name: str) -> int:
        """The current pid of one process of the stack (from `parley up`'s pid files)."""
        return int((Path(self.env["PARLEY_DATA_DIR"]) / "run" / f"{name}.pid").read_text())


def start_stack(env: dict[str, str], log_path: Path, timeout: float = 120.0) -> Stack:
    started = time.monotonic()
    log = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "parley", "up"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{env['PARLEY_PORT']}"
    while READY_LINE not in log_path.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() - started > timeout:
            process.kill()
            raise RuntimeError(f"parley up did not get ready:\n{log_path.read_text()[-5000:]}")
        time.sleep(0.1)
    time.sleep(1)  # the workers' first rounds (the webhook scheduler's first query)
    ready = Stack(url, process, log_path, time.monotonic() - started, env)
    ready.start_log = ready.log()
    return ready


def stop_stack(stack: Stack) -> int:
    stack.process.send_signal(signal.SIGINT)
    try:
        return stack.process.wait(30)
    except subprocess.TimeoutExpired:
        stack.process.kill()
        stack.process.wait()
        return -9


def stack_env(
    tmp: Path, redis_url: str, smtp_port: int, model_url: str, **extra: str
) -> dict[str, str]:
    """The environment `parley up` gets in these tests (a data dir under `tmp`, SQLite)."""
    return {
        **os.environ,
        "PARLEY_ENV": "testing",
        "PARLEY_DATA_DIR": str(tmp / "data"),
        "PARLEY_PORT": str(free_port_block()),
        "REDIS_URL": redis_url,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "OPENAI_BASE_URL": f"{model_url}/v1",
        "OPENAI_API_KEY": "test-key",
        "PARLEY_MODELS": "parley-demo",
        "PARLEY_PUBLIC_URL": "http://parley.test",
        "LLM_WORKER_CONCURRENCY": "20",
        # faults show quickly: a dead worker's job comes back after 3 s, a stalled model
        # stream fails after 3 s
        "PARLEY_TASK_VISIBILITY_TIMEOUT": "3",
        "PARLEY_LLM_TIMEOUT": "3",
        # the webhook receiver is on 127.0.0.1; retries 100x faster (5 s -> 50 ms)
        "PARLEY_WEBHOOK_ALLOW_PRIVATE": "true",
        # the 8 attempts of a delivery take 0.15 s instead of 41 hours; Retry-After still counts
        "PARLEY_WEBHOOK_RETRY_SCALE": "0.0001",
        "PARLEY_WEBHOOK_DISABLE_AFTER": "3",
        "PARLEY_SSE_PING_SECONDS": "1",
        # every test client comes from 127.0.0.1: lift the per-address sign-up limits
        "PARLEY_REGISTER_IP_LIMIT": "100000",
        "PARLEY_LOGIN_IP_LIMIT": "100000",
        # the suites post far faster than a person; the limits have tests of their own
        "PARLEY_MESSAGES_PER_MINUTE": "0",
        "PARLEY_DIALOGS_PER_MINUTE": "0",
        "PARLEY_REGENERATIONS_PER_MINUTE": "0",
        **extra,
    }


@pytest.fixture(scope="session")
def stack(
    database_backend: str,
    inbox: tuple[Inbox, int],
    model_server: tuple[ModelServer, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp(f"stack-{database_backend}")
    _, smtp_port = inbox
    _, model_url = model_server
    redis = RedisServer(tmp / "redis").start()
    env = stack_env(tmp, redis.url, smtp_port, model_url)
    databases = []
    if database_backend == "postgres":
        databases = [create_pg_database("e2e_auth"), create_pg_database("e2e_chat")]
        env["AUTH_DATABASE_URL"], env["CHAT_DATABASE_URL"] = databases
    running = start_stack(env, tmp / "parley-up.log")
    running.redis_server = redis
    try:
        yield running
    finally:
        code = stop_stack(running)
        redis.stop()
        for url in databases:
            drop_database(url)
        assert code == 0, f"parley up exited with {code}:\n{running.log()[-3000:]}"


# --- the browser tests (test_browser.py) ------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Access tokens live one minute here (plus the verifiers' 5 s leeway), so a browser session
# can outlive its token within the suite's time and show the refresh through the cookie.
BROWSER_TOKEN_MINUTES = 1


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright launches Debian's Chromium: no browser downloads here."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing (.ci/run installs the chromium package)")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_stack(
    inbox: tuple[Inbox, int],
    model_server: tuple[ModelServer, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    """The stack the browser tests drive: SQLite, one-minute access tokens, the built UI."""
    web_dist = Path(__file__).resolve().parents[2] / "web" / "dist" / "index.html"
    if not web_dist.exists():
        pytest.fail("web/dist is missing: `make web` (or `cd web && npm ci && npm run build`)")
    tmp = tmp_path_factory.mktemp("stack-browser")
    _, smtp_port = inbox
    _, model_url = model_server
    redis = RedisServer(tmp / "redis").start()
    env = stack_env(tmp, redis.url, smtp_port, model_url)
    env["PARLEY_ACCESS_TOKEN_MINUTES"] = str(BROWSER_TOKEN_MINUTES)
    running = start_stack(env, tmp / "parley-up.log")
    try:
        yield running
    finally:
        code = stop_stack(running)
        redis.stop()
        assert code == 0, f"parley up exited with {code}:\n{running.log()[-3000:]}"


@pytest.fixture(scope="session")
def base_url(browser_stack: Stack) -> str:
    """Pages open relative to the browser stack (replaces pytest-base-url's fixture)."""
    return browser_stack.url


@pytest.fixture
def program(
    stack: Stack,
) -> Iterator[tuple[openai.OpenAI, dict[str, Any], httpx.Client, dict[str, str]]]:
    """An OpenAI client with a fresh user's API key, the key, and the user's own session."""
    from .test_answers import signed_in  # the test modules' helpers import this module
    from .test_keys_and_budgets import new_key

    api, person = signed_in(stack)
    key, _ = new_key(api, person)
    client = openai.OpenAI(api_key=key["key"], base_url=f"{stack.url}/v1", max_retries=0)
    yield client, key, api, person
    client.close()
    api.close()
