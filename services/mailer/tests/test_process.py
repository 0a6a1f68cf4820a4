"""`python -m mailer` as a process (health, metrics, SIGTERM, SIGKILL), and RabbitMQ as broker."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
import redis

from kit import events
from kit.events import Event
from mailer import admin
from mailer.main import Mailer

WAIT = 15.0
AMQP_URL = os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")
StartMailer = Callable[..., Awaitable[Mailer]]


def rabbitmq_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=1):
            return True
    except OSError:
        return False


needs_rabbitmq = pytest.mark.skipif(
    not rabbitmq_reachable(), reason="RabbitMQ is not reachable on 127.0.0.1:5672"
)


def publish_now(broker_url: str, *items: Event) -> None:
    with events.connect(broker_url) as conn:
        events.declare_topology(conn)
        for event in items:
            events.publish(conn, event)


async def publish(broker_url: str, *items: Event) -> None:
    await asyncio.to_thread(publish_now, broker_url, *items)


async def eventually(check: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)
    return result


def confirmation(email: str) -> Event:
    return Event(
        type="auth.email_confirmation_requested",
        data={
            "user_id": "6f1c2d3e-2222-4a5b-9c1d-2e3f4a5b6c7d",
            "email": email,
            "username": email.split("@")[0],
            "link": f"http://parley.test:8000/email-verify/tok-{email.split('@')[0]}",
            "expires_at": "2099-01-01T12:00:00+00:00",
        },
    )


def unique(name: str) -> str:
    return f"{name}-{os.urandom(4).hex()}@example.com"


def redis_queue_state(url: str) -> tuple[int, int]:
    """(events waiting on `mailer`, events delivered and not acknowledged) on a Redis broker."""
    with redis.Redis.from_url(url) as client:
        return int(client.llen("mailer")), int(client.hlen("unacked"))


class TestMailerProcess:
    async def test_health_metrics_and_sigterm_finishing_the_send_under_way(
        self, broker_url: str, smtp, mailer_process
    ) -> None:
        process = await mailer_process()
        async with httpx.AsyncClient(base_url=process.url) as client:
            assert (await client.get("/healthz")).json() == {"status": "ok"}
            ready = await client.get("/readyz")
            assert ready.status_code == 200
            assert ready.json()["checks"] == {"broker": "ok", "redis": "ok"}

            await publish(broker_url, confirmation("kim@example.com"))
            await eventually(lambda: smtp.mails_to("kim@example.com"), "the first mail")
            sent = 'parley_emails_total{result="sent",template="email_confirmation"} 1.0'
            # the server has the mail a moment before the mailer has read its reply and counted it
            for _ in range(100):
                metrics = (await client.get("/metrics")).text
                if sent in metrics:
                    break
                await asyncio.sleep(0.05)
            assert sent in metrics
            assert "@example.com" not in metrics

        smtp.data_delay = 1.5  # the next send is under way when SIGTERM arrives
        await publish(broker_url, confirmation("lee@example.com"))
        await eventually(lambda: smtp.data_attempts == 2, "the second send to start")
        assert await asyncio.to_thread(process.terminate) == 0
        assert len(smtp.mails_to("lee@example.com")) == 1  # finished before exiting
        assert redis_queue_state(broker_url) == (0, 0)  # and acknowledged

    async def test_killed_mid_retry_then_restarted_loses_nothing(
        self, broker_url: str, smtp, mailer_process
    ) -> None:
        smtp.data_reply = "451 4.3.0 Try again later"
        fast_recovery = {"MAILER_VISIBILITY_TIMEOUT": "1"}
        first = await mailer_process(
            MAILER_RETRY_BASE_SECONDS="1", MAILER_RETRY_MAX_SECONDS="2", **fast_recovery
        )
        sent = [confirmation(f"crash{n}@example.com") for n in range(3)]
        await publish(broker_url, *sent)
        await eventually(lambda: smtp.data_attempts >= 3, "a first try of each mail")
        first.kill()  # no goodbye: the events are unacknowledged on the broker
        assert smtp.accepted == []

        smtp.data_reply = "250 OK: queued"
        await mailer_process(**fast_recovery)
        await eventually(lambda: len(smtp.accepted) >= 3, "the three mails")
        await asyncio.sleep(0.5)
        assert sorted(r[0] for r, _ in smtp.accepted) == sorted(e.data["email"] for e in sent)
        assert redis_queue_state(broker_url) == (0, 0)


@needs_rabbitmq
class TestRabbitMQ:
    async def test_main_path_retry_duplicate_dead_letter_and_replay(
        self, smtp, start_mailer: StartMailer
    ) -> None:
        await start_mailer(BROKER_URL=AMQP_URL)
        ok, refused = unique("rabbit"), unique("refused")
        ok_event = confirmation(ok)
        smtp.script.extend(["451 4.3.0 Try again later"])
        await publish(AMQP_URL, ok_event, ok_event)
        [message] = await eventually(lambda: smtp.mails_to(ok), "the mail via RabbitMQ")
        assert message["Subject"] == "Confirm your email address for Parley"

        smtp.rcpt_reply = "550 5.1.1 Mailbox unavailable"
        refused_event = confirmation(refused)
        await publish(AMQP_URL, refused_event)

        async def mine() -> list[dict[str, Any]]:
            letters = await asyncio.to_thread(admin.list_dead_letters, AMQP_URL)
            return [d for d in letters if d["event_id"] == str(refused_event.id)]

        deadline = time.monotonic() + WAIT
        while not (dead := await mine()):
            assert time.monotonic() < deadline, "no dead letter on RabbitMQ"
            await asyncio.sleep(0.1)
        assert dead[0]["reason"] == "permanent_failure"

        smtp.rcpt_reply = None
        replayed = await asyncio.to_thread(admin.replay, AMQP_URL, [str(refused_event.id)])
        assert replayed == 1
        await eventually(lambda: smtp.mails_to(refused), "the replayed mail")
        assert await mine() == []
        await asyncio.sleep(0.3)
        assert len(smtp.mails_to(ok)) == 1  # the retried and duplicated event: one mail

    async def test_killed_mid_retry_then_restarted_loses_nothing(
        self, smtp, mailer_process
    ) -> None:
        smtp.data_reply = "451 4.3.0 Try again later"
        first = await mailer_process(
            BROKER_URL=AMQP_URL, MAILER_RETRY_BASE_SECONDS="1", MAILER_RETRY_MAX_SECONDS="2"
        )
        addresses = [unique(f"rabbit-crash{n}") for n in range(3)]
        await publish(AMQP_URL, *(confirmation(a) for a in addresses))
        await eventually(lambda: smtp.data_attempts >= 3, "a first try of each mail")
        first.kill()

        smtp.data_reply = "250 OK: queued"
        second = await mailer_process(BROKER_URL=AMQP_URL)
        await eventually(
            lambda: all(smtp.mails_to(a) for a in addresses), "the three mails via RabbitMQ"
        )
        await asyncio.sleep(0.5)
        assert [len(smtp.mails_to(a)) for a in addresses] == [1, 1, 1]
        assert await asyncio.to_thread(second.terminate) == 0
