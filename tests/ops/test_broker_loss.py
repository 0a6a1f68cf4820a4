"""A worker started on its own (no `parley up` to restart it) outlives its Redis broker.

Redis is killed while the worker holds unacknowledged jobs (late acks: a busy worker always
does) and started again on the same port; the worker must reconnect and take new jobs, where
Celery 5.7 stopped consuming for good ("Unrecoverable error: AttributeError ... 'hostname'").
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from celery import Celery
from redis import Redis

from chat_service.main import MIGRATIONS as CHAT_MIGRATIONS
from kit.migrations import upgrade
from parley.stack import chat_worker_command, llm_worker_command
from parley_testing.ports import free_port
from parley_testing.redis_server import RedisServer
from parley_testing.waiting import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    with RedisServer(tmp_path / "redis") as server:
        yield server


def start_worker(
    kind: str, redis: RedisServer, tmp_path: Path
) -> tuple[subprocess.Popen[bytes], int, Path]:
    health = free_port()
    chat_db = f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}"
    # alembic's env runs its own event loop: not on this (pytest-asyncio's) thread
    with ThreadPoolExecutor(1) as pool:
        pool.submit(upgrade, chat_db, CHAT_MIGRATIONS).result()
    env = {
        **os.environ,
        "PARLEY_ENV": "testing",
        "REDIS_URL": redis.url,
        "PARLEY_DATA_DIR": str(tmp_path / "data"),
        "PARLEY_INTERNAL_TOKEN": "broker-loss-test",
        # chat is not running: answer jobs keep retrying, so the worker holds them unacked
        "PARLEY_CHAT_URL": f"http://127.0.0.1:{free_port()}",
        "CHAT_DATABASE_URL": chat_db,
        "LLM_WORKER_METRICS_PORT": str(health),
        "CHAT_WORKER_METRICS_PORT": str(health),
        "PARLEY_TASK_VISIBILITY_TIMEOUT": "300",
    }
    command = (
        # room beside the jobs it held (they keep running, and copies of them may be restored)
        llm_worker_command(10, f"alone-{uuid.uuid4().hex[:6]}@%h")
        if kind == "llm"
        else chat_worker_command(f"alone-{uuid.uuid4().hex[:6]}@%h")
    )
    log = tmp_path / f"{kind}-worker.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    return process, health, log


def ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def send(redis: RedisServer, kind: str) -> str:
    """Queue one job for the worker; its task id."""
    sender = Celery("test-sender", broker=redis.url)
    if kind == "llm":
        messages = [{"role": "user", "content": "hi"}]
        args = [str(uuid.uuid4()), 1, "parley-demo", messages]
        sent = sender.send_task("llm.generate_answer", args=args, queue="llm")
    else:
        args = [f"msg_{uuid.uuid4().hex}", 0]
        sent = sender.send_task("webhooks.deliver", args=args, queue="webhooks")
    sender.close()
    return str(sent.id)


@pytest.mark.parametrize("kind", ["llm", "chat"])
def test_a_worker_alone_reconnects_after_redis_restarts(
    kind: str, redis: RedisServer, tmp_path: Path
) -> None:
    queue = "llm" if kind == "llm" else "webhooks"
    process, health, log = start_worker(kind, redis, tmp_path)
    client = Redis.from_url(redis.url)
    try:
        wait_until("the worker to be ready", lambda: ready(health), timeout=60)
        for _ in range(3):
            send(redis, kind)
        wait_until("the jobs to be taken", lambda: client.llen(queue) == 0, timeout=20)

        redis.process.kill()  # type: ignore[union-attr]
        redis.process.wait()  # type: ignore[union-attr]
        time.sleep(2)  # the worker notices and starts reconnecting
        redis.start()

        after = send(redis, kind)
        wait_until(
            "the job sent after the restart to be taken",
            lambda: f"[{after}] received" in log.read_text(errors="replace"),
            60,
        )
        assert process.poll() is None, "the worker exited"
        wait_until("the worker to be ready again", lambda: ready(health), timeout=10)
        text = log.read_text(errors="replace")
        assert "Unrecoverable error" not in text
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
