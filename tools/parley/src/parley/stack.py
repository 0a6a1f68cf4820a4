"""What `parley up` runs: every process of the stack with its command, port and environment.

One base port (`PARLEY_PORT`, the gateway) fixes the others, so a test can run a whole stack on
eleven free ports. What is not configured is provided: an embedded Redis, a mail catcher, the demo
model, an internal token kept in the data dir.
"""

from __future__ import annotations

import os
import resource
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path

from parley_testing.redis_server import RedisServer

PY = sys.executable
OPEN_FILES_WANTED = 65536


def raise_open_file_limit(wanted: int = OPEN_FILES_WANTED) -> int:
    """Lift this process's soft limit on open files towards its hard limit (the processes it
    starts inherit it): every open answer stream holds two sockets in the gateway and one in
    chat, and the usual soft limit of 1024 would refuse connections beyond a few hundred."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


@dataclass
class Proc:
    name: str
    argv: list[str]
    ready_url: str | None = None
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class Ports:
    gateway: int

    def __getattr__(self, name: str) -> int:
        offsets = {
            "auth": 1,
            "chat": 2,
            "llm_worker": 3,
            "mailer": 4,
            "model": 5,
            "mail_http": 6,
            "smtp": 7,
            "redis": 8,
            "gateway_metrics": 9,
            "chat_worker": 10,
        }
        if name in offsets:
            return self.gateway + offsets[name]
        raise AttributeError(name)


def internal_token(data_dir: Path) -> str:
    """The token services use between themselves, generated once per data dir."""
    path = data_dir / "internal_token"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


def llm_worker_command(concurrency: int, name: str, loglevel: str = "INFO") -> list[str]:
    """An llm-worker process: Celery on the providers' queues (`LLM_WORKER_QUEUES` in its
    environment chooses), a threads pool of `concurrency` slots."""
    return [
        PY,
        "-m",
        "celery",
        "-A",
        "llm_worker.celery_app",
        "worker",
        "-P",
        "threads",
        "-c",
        str(concurrency),
        "-n",
        name,
        "--without-gossip",
        "--without-mingle",
        "--loglevel",
        loglevel,
    ]


def chat_worker_command(name: str, loglevel: str = "INFO") -> list[str]:
    """The chat-worker: Celery on queue `webhooks` (signed webhook deliveries), 20 threads."""
    return [
        PY,
        "-m",
        "celery",
        "-A",
        "chat_service.webhooks.worker",
        "worker",
        "-Q",
        "webhooks",
        "-P",
        "threads",
        "-c",
        "20",
        "-n",
        name,
        "--without-gossip",
        "--without-mingle",
        "--loglevel",
        loglevel,
    ]


def plan(env: dict[str, str] | None = None) -> tuple[list[Proc], dict[str, str]]:
    """The processes to run, in start order, and the environment they share."""
    env = dict(os.environ if env is None else env)
    data_dir = Path(env.setdefault("PARLEY_DATA_DIR", ".parley")).resolve()
    env["PARLEY_DATA_DIR"] = str(data_dir)
    ports = Ports(int(env.setdefault("PARLEY_PORT", "8000")))
    host = env.setdefault("PARLEY_HOST", "127.0.0.1")
    env.setdefault("PARLEY_PUBLIC_URL", f"http://localhost:{ports.gateway}")
    env.setdefault("PARLEY_ENV", "development")
    if not env.get("PARLEY_INTERNAL_TOKEN"):
        env["PARLEY_INTERNAL_TOKEN"] = internal_token(data_dir)
    env.setdefault("PARLEY_AUTH_URL", f"http://127.0.0.1:{ports.auth}")
    env.setdefault("PARLEY_CHAT_URL", f"http://127.0.0.1:{ports.chat}")
    env.setdefault("LLM_WORKER_METRICS_PORT", str(ports.llm_worker))
    env.setdefault("MAILER_PORT", str(ports.mailer))
    env.setdefault("PARLEY_GATEWAY_METRICS_PORT", str(ports.gateway_metrics))
    env.setdefault("CHAT_WORKER_METRICS_PORT", str(ports.chat_worker))
    env["PYTHONUNBUFFERED"] = "1"

    procs: list[Proc] = []
    if not env.get("REDIS_URL"):
        redis = RedisServer(data_dir / "redis", ports.redis)
        procs.append(Proc("redis", redis.command()))
        env["REDIS_URL"] = redis.url
    if not env.get("SMTP_HOST"):
        env.update(SMTP_HOST="127.0.0.1", SMTP_PORT=str(ports.smtp), SMTP_TLS="none")
        env["PARLEY_DEV_MAIL_URL"] = f"http://127.0.0.1:{ports.mail_http}"
        procs.append(
            Proc(
                "mailcatcher",
                [
                    PY,
                    "-m",
                    "parley_testing.mailcatcher",
                    "--smtp-port",
                    str(ports.smtp),
                    "--http-port",
                    str(ports.mail_http),
                    "--dir",
                    str(data_dir / "mail"),
                ],
                ready_url=f"http://127.0.0.1:{ports.mail_http}/dev/mail/api",
            )
        )
    if not env.get("OPENAI_API_KEY") and not env.get("OPENAI_BASE_URL"):
        env["OPENAI_BASE_URL"] = f"http://127.0.0.1:{ports.model}/v1"
        env.setdefault("PARLEY_MODELS", "parley-demo")
        procs.append(
            Proc(
                "demo-model",
                [PY, "-m", "parley_testing.model_server", "--port", str(ports.model)],
                ready_url=f"http://127.0.0.1:{ports.model}/v1/models",
            )
        )

    def uvicorn(module: str, port: int, bind: str = "127.0.0.1") -> list[str]:
        return [
            PY,
            "-m",
            "uvicorn",
            f"{module}:app",
            "--host",
            bind,
            "--port",
            str(port),
            "--no-access-log",
            # client addresses come from the gateway's own rules (PARLEY_TRUSTED_PROXIES),
            # never from a forwarding header uvicorn would believe from 127.0.0.1
            "--no-proxy-headers",
            # longer than the idle timeout of clients and proxies in front, so a reused
            # keep-alive connection is never closed under a request
            "--timeout-keep-alive",
            "75",
            "--timeout-graceful-shutdown",
            "10",
        ]

    procs += [
        Proc(
            "auth",
            uvicorn("auth_service.main", ports.auth),
            ready_url=f"http://127.0.0.1:{ports.auth}/readyz",
        ),
        Proc(
            "chat",
            uvicorn("chat_service.main", ports.chat),
            ready_url=f"http://127.0.0.1:{ports.chat}/readyz",
        ),
        Proc(
            "llm-worker",
            llm_worker_command(
                int(env.get("LLM_WORKER_CONCURRENCY", "200")), f"llm-{ports.gateway}@%h"
            ),
            ready_url=f"http://127.0.0.1:{ports.llm_worker}/readyz",
        ),
        Proc(
            "chat-worker",
            chat_worker_command(f"webhooks-{ports.gateway}@%h"),
            ready_url=f"http://127.0.0.1:{ports.chat_worker}/readyz",
        ),
        Proc("mailer", [PY, "-m", "mailer"], ready_url=f"http://127.0.0.1:{ports.mailer}/readyz"),
        Proc(
            "gateway",
            uvicorn("gateway.main", ports.gateway, host),
            ready_url=f"http://127.0.0.1:{ports.gateway}/readyz",
        ),
    ]
    return procs, env
