"""How many mails per second the mailer sends to a local SMTP server.

A backlog of confirmation events is published to the broker, then `python -m mailer` is started
and timed until a local aiosmtpd server (in this process, on its own thread) has accepted every
mail. Each run gets a fresh embedded Redis (broker and dedupe ledger); RabbitMQ is measured too
when it answers on 127.0.0.1:5672 (its shared `mailer` queue: anything already waiting there is
sent to the sink as well, uncounted). The last rows send the same messages with aiosmtplib
alone: the ceiling that this SMTP server and client allow.

    uv run python bench/mailer.py [--mails 2000] [--concurrency 1 8 32]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import aiosmtplib
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from kit import events
from kit.events import Event
from parley_testing.ports import free_port, wait_ready
from parley_testing.redis_server import RedisServer

AMQP_URL = os.environ.get("BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")


class CountingSink:
    """Accepts everything; counts the mails of the current run (other mail is not counted)."""

    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.target = 0
        self.run = ""

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self.lock:
            if any(self.run in str(rcpt) for rcpt in envelope.rcpt_tos):
                self.count += 1
                if self.count >= self.target:
                    self.done.set()
        return "250 OK"

    def expect(self, n: int) -> str:
        with self.lock:
            self.count, self.target, self.run = 0, n, uuid.uuid4().hex[:12]
            self.done.clear()
            return self.run


def event(n: int, run: str) -> Event:
    return Event(
        type="auth.email_confirmation_requested",
        data={
            "user_id": str(uuid.uuid4()),
            "email": f"bench{n}-{run}@example.com",
            "username": f"bench{n}",
            "link": f"http://localhost:8000/email-verify/{uuid.uuid4().hex}",
            "expires_at": "2099-01-01T00:00:00+00:00",
        },
    )


def rabbitmq_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=1):
            return True
    except OSError:
        return False


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process used so far (Linux; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_mailer(
    sink: CountingSink,
    smtp_port: int,
    redis_url: str,
    broker_url: str,
    mails: int,
    concurrency: int,
) -> tuple[float, float]:
    """(seconds until every mail arrived, CPU seconds the mailer used meanwhile)."""
    run = sink.expect(mails)
    with events.connect(broker_url) as conn:
        events.declare_topology(conn)
        for n in range(mails):
            events.publish(conn, event(n, run))
    port = free_port()
    env = {
        **os.environ,
        "PARLEY_ENV": "testing",
        "PARLEY_LOG_LEVEL": "WARNING",
        "REDIS_URL": redis_url,
        "BROKER_URL": broker_url,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "MAILER_PORT": str(port),
        "MAILER_CONCURRENCY": str(concurrency),
    }
    process = subprocess.Popen([sys.executable, "-m", "mailer"], env=env)
    try:
        wait_ready(f"http://127.0.0.1:{port}/readyz", timeout=30)
        started, cpu = time.perf_counter(), cpu_seconds(process.pid)
        if not sink.done.wait(300):
            raise TimeoutError(f"only {sink.count} of {mails} mails arrived")
        return time.perf_counter() - started, cpu_seconds(process.pid) - cpu
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)


async def aiosmtplib_alone(smtp_port: int, mails: int, concurrency: int) -> float:
    """The same mails, already serialized, sent with aiosmtplib and nothing else."""
    from mailer.config import MailerSettings
    from mailer.render import MailRenderer

    renderer = MailRenderer(MailerSettings())
    messages = []
    for n in range(mails):
        e = event(n, "alone")
        messages.append(renderer.message(e, renderer.render(e)).as_bytes())
    slots = asyncio.Semaphore(concurrency)

    async def send(message: bytes) -> None:
        async with slots:
            await aiosmtplib.send(
                message,
                sender="no-reply@parley.local",
                recipients=["alone@example.com"],
                hostname="127.0.0.1",
                port=smtp_port,
                start_tls=False,
            )

    started = time.perf_counter()
    await asyncio.gather(*(send(m) for m in messages))
    return time.perf_counter() - started


def main() -> None:
    # This file is named like the package it measures: keep its folder off the import path.
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    parser = argparse.ArgumentParser()
    parser.add_argument("--mails", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    args = parser.parse_args()

    sink = CountingSink()
    smtp_port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    rows: list[tuple[str, int, int, float, float | None]] = []
    brokers = ["redis"] + (["rabbitmq"] if rabbitmq_up() else [])
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for broker in brokers:
                for concurrency in args.concurrency:
                    run_dir = Path(tmp) / f"{broker}-{concurrency}"
                    with RedisServer(run_dir) as redis:
                        broker_url = redis.url if broker == "redis" else AMQP_URL
                        seconds, cpu = run_mailer(
                            sink, smtp_port, redis.url, broker_url, args.mails, concurrency
                        )
                    what = f"mailer, {broker} broker"
                    rows.append((what, concurrency, args.mails, seconds, cpu))
                    print(f"  {what:<28} c={concurrency:<3} {args.mails / seconds:8.0f}/s")
            for concurrency in (1, max(args.concurrency)):
                seconds = asyncio.run(aiosmtplib_alone(smtp_port, args.mails, concurrency))
                rows.append(("aiosmtplib alone (ceiling)", concurrency, args.mails, seconds, None))
    finally:
        controller.stop()

    print()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; the SMTP server runs")
    print("in this process, the mailer in its own")
    print(
        f"{'what':<28} {'concurrency':>11} {'mails':>6} {'seconds':>8} {'mails/s':>8}"
        f" {'mailer CPU ms/mail':>19}"
    )
    for what, concurrency, mails, seconds, used in rows:
        per_mail = "" if used is None else f"{1000 * used / mails:.1f}"
        print(
            f"{what:<28} {concurrency:>11} {mails:>6} {seconds:>8.2f} {mails / seconds:>8.0f}"
            f" {per_mail:>19}"
        )


if __name__ == "__main__":
    main()
