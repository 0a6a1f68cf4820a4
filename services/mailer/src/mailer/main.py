"""The mailer process: consume auth events, send mail, serve /healthz, /readyz and /metrics.

`python -m mailer` runs until SIGTERM or SIGINT, then stops gracefully: it takes no new events,
lets sends under way finish (up to `MAILER_SHUTDOWN_GRACE_SECONDS`), puts every other event it
holds back on the queue, and exits 0.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from http.server import ThreadingHTTPServer

from pydantic import ValidationError

from kit.consumer import EventConsumer
from kit.events import redis_consumer_options
from kit.health import serve_health_in_thread
from kit.logging import configure_logging
from kit.redis_clients import async_redis, sync_redis
from kit.settings import InsecureSettings
from mailer.config import MailerSettings, get_settings
from mailer.directory import AccountDirectory
from mailer.handlers import MailHandler
from mailer.ledger import DeliveryLedger
from mailer.render import MailRenderer
from mailer.sender import SmtpSender

log = logging.getLogger("mailer")
QUEUE = "mailer"


class Mailer:
    """The composition root: one per process (tests start several in turn)."""

    def __init__(self, settings: MailerSettings) -> None:
        self.settings = settings
        self.redis = async_redis(settings.redis_url)
        self._redis_probe = sync_redis(
            settings.redis_url, socket_timeout=2, socket_connect_timeout=2
        )
        self.ledger = DeliveryLedger(
            self.redis,
            ttl_seconds=settings.dedupe_ttl_seconds,
            lease_seconds=settings.claim_lease_seconds,
        )
        self.directory = AccountDirectory(settings)
        self.handler = MailHandler(
            settings, MailRenderer(settings), SmtpSender(settings), self.ledger, self.directory
        )
        self.consumer: EventConsumer | None = None
        self.health: ThreadingHTTPServer | None = None

    @property
    def health_port(self) -> int:
        assert self.health is not None
        return int(self.health.server_address[1])

    async def start(self) -> None:
        s = self.settings
        options = (
            redis_consumer_options(s.visibility_timeout_seconds) if s.uses_redis_broker else {}
        )
        self.consumer = EventConsumer(
            s.broker_url,
            QUEUE,
            self.handler,
            asyncio.get_running_loop(),
            concurrency=s.concurrency,
            transport_options=options,
        )
        self.consumer.start()
        self.health = serve_health_in_thread(
            s.host, s.port, {"broker": self._broker_ready, "redis": self._redis_probe.ping}
        )

    async def stop(self) -> None:
        if self.consumer is not None:
            self.consumer.request_stop(self.settings.shutdown_grace_seconds)
        # waits to retry end now and give their events back; sends under way finish
        self.handler.stopping.set()
        closing = []
        if self.consumer is not None:
            closing.append(self.consumer.aclose(self.settings.shutdown_grace_seconds))
        if self.health is not None:
            closing.append(asyncio.to_thread(self.health.shutdown))
        await asyncio.gather(*closing)
        if self.health is not None:
            self.health.server_close()
        await self.redis.aclose()
        await self.directory.close()
        self._redis_probe.close()

    def _broker_ready(self) -> None:
        if self.consumer is None or not self.consumer.connected.is_set():
            raise ConnectionError("not consuming from the broker")


async def serve(settings: MailerSettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if (
        settings.uses_redis_broker
        and settings.longest_hold_seconds >= settings.visibility_timeout_seconds
    ):
        log.warning(
            "MAILER_VISIBILITY_TIMEOUT (%ss) is shorter than the longest retry schedule (%.0fs): "
            "an event still being retried may be handed out a second time",
            settings.visibility_timeout_seconds,
            settings.longest_hold_seconds,
        )
    mailer = Mailer(settings)
    await mailer.start()
    log.info(
        "mailer started: SMTP %s:%s (tls %s), health on %s:%s",
        settings.smtp_host,
        settings.smtp_port,
        settings.smtp_tls,
        settings.host,
        mailer.health_port,
    )
    await stop.wait()
    log.info("stopping: finishing the sends under way")
    await mailer.stop()
    log.info("mailer stopped")


def main() -> None:
    try:
        settings = get_settings()
    except (ValidationError, InsecureSettings) as exc:
        print(f"mailer: invalid settings: {exc}", file=sys.stderr)
        sys.exit(2)
    configure_logging("mailer", settings.log_level)
    asyncio.run(serve(settings))
