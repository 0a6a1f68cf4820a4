"""Operations tests: real stacks (as `parley up` runs them) watched by a real Prometheus.

`ops_stack` is a Redis-brokered stack of its own (the e2e `stack` belongs to tests/e2e and other
tests there signal its processes); `rabbit_stack` is the same stack with `BROKER_URL` on RabbitMQ,
in a virtual host made for the run and deleted after it, so runs never share queues.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from parley.stack import Ports
from parley_testing.model_server import ModelServer
from parley_testing.redis_server import RedisServer

from ..e2e.conftest import Inbox, Stack, stack_env, start_stack, stop_stack

ROOT = Path(__file__).resolve().parents[2]
AMQP_HOST, AMQP_PORT = "127.0.0.1", 5672
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# the e2e environment, with slow answers allowed and a worker's lost job back after 5 s
OPS_ENV = {"PARLEY_TASK_VISIBILITY_TIMEOUT": "5", "PARLEY_LLM_TIMEOUT": "60"}


def tool(name: str) -> str:
    """The path of a binary the ops checks need; skipped locally, a failure in CI, when missing."""
    path = shutil.which(name)
    if path is None:
        message = f"`{name}` is not installed (Debian package `prometheus`; .ci/run installs it)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


def ports(stack: Stack) -> Ports:
    return Ports(int(stack.env["PARLEY_PORT"]))


@pytest.fixture(scope="session")
def ops_stack(
    inbox: tuple[Inbox, int],
    model_server: tuple[ModelServer, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("ops-stack")
    redis = RedisServer(tmp / "redis").start()
    # two answer slots: a handful of slow answers saturates the worker (queue depth, in-flight)
    env = stack_env(
        tmp, redis.url, inbox[1], model_server[1], **OPS_ENV, LLM_WORKER_CONCURRENCY="2"
    )
    running = start_stack(env, tmp / "parley-up.log")
    try:
        yield running
    finally:
        code = stop_stack(running)
        redis.stop()
        assert code == 0, f"parley up exited with {code}:\n{running.log()[-3000:]}"


def rabbitmq_reachable() -> bool:
    try:
        with socket.create_connection((AMQP_HOST, AMQP_PORT), timeout=1):
            return True
    except OSError:
        return False


class VirtualHost:
    """A RabbitMQ virtual host of our own, made with `rabbitmqctl` (guest gets every right)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.ctl = shutil.which("rabbitmqctl")

    def _ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        assert self.ctl is not None
        return subprocess.run(
            [self.ctl, *args], capture_output=True, text=True, timeout=60, check=False
        )

    def create(self) -> bool:
        if self.ctl is None:
            return False
        made = self._ctl("add_vhost", self.name)
        if made.returncode != 0:
            return False
        return (
            self._ctl("set_permissions", "-p", self.name, "guest", ".*", ".*", ".*").returncode == 0
        )

    def delete(self) -> None:
        self._ctl("delete_vhost", self.name)

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@{AMQP_HOST}:{AMQP_PORT}/{self.name}"


@pytest.fixture(scope="module")
def rabbit_vhost() -> Iterator[VirtualHost]:
    if not rabbitmq_reachable():
        pytest.skip(f"RabbitMQ is not reachable on {AMQP_HOST}:{AMQP_PORT}")
    vhost = VirtualHost(f"parley-test-{uuid.uuid4().hex[:10]}")
    if not vhost.create():
        pytest.skip("cannot create a RabbitMQ virtual host (rabbitmqctl missing or refused)")
    try:
        yield vhost
    finally:
        vhost.delete()


@pytest.fixture(scope="module")  # stopped as soon as its tests are done
def rabbit_stack(
    rabbit_vhost: VirtualHost,
    inbox: tuple[Inbox, int],
    model_server: tuple[ModelServer, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("rabbit-stack")
    redis = RedisServer(tmp / "redis").start()  # answer streams, rate limits: still Redis
    env = stack_env(
        tmp, redis.url, inbox[1], model_server[1], **OPS_ENV, BROKER_URL=rabbit_vhost.url
    )
    running = start_stack(env, tmp / "parley-up.log")
    try:
        yield running
    finally:
        code = stop_stack(running)
        redis.stop()
        assert code == 0, f"parley up exited with {code}:\n{running.log()[-3000:]}"
