"""Delivering a webhook: one attempt, the retry schedule, and handing due deliveries out.

Deliveries live in the database (written in the transaction that ended the message). A
scheduler (`chat_service.webhooks.worker`) hands due deliveries to the queue, one task per
attempt; the database, not a long Celery countdown, decides when a retry is due, so a worker
restart or a Redis visibility timeout never loses or doubles one. An attempt claims its
delivery by bumping `attempts` from the number it was sent with, so a copy of the task that
arrives twice makes one attempt.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

from prometheus_client import Counter
from sqlalchemy import Engine, inspect, or_, update
from sqlmodel import Session, col, select

from chat_service.config import settings
from chat_service.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from chat_service.webhooks import endpoint_health, sender
from kit.db import utcnow

log = logging.getLogger(__name__)
# seconds after the first attempt (docs/DESIGN.md §4), multiplied by PARLEY_WEBHOOK_RETRY_SCALE
SCHEDULE = (0, 5, 300, 1800, 7200, 18000, 36000, 86400)
ENQUEUE_LEASE = timedelta(seconds=60)
DELIVERIES = Counter(
    "parley_webhook_deliveries_total", "Webhook delivery attempts by result.", ["result"]
)
for _result in ("success", "failure", "gone"):  # start at 0: rates work from the first attempt
    DELIVERIES.labels(_result)


def delay_after(attempts: int, retry_after: float | None) -> float | None:
    """Seconds until the next attempt after `attempts` attempts; None when there is none."""
    if attempts >= len(SCHEDULE):
        return None
    delay = SCHEDULE[attempts] * settings.webhook_retry_scale
    return max(delay, retry_after or 0)


def deliver(engine: Engine, delivery_id: str, attempt: int) -> str:
    """Make attempt number `attempt` (0-based) of a delivery, unless another copy already did."""
    with Session(engine) as session:
        claimed = session.exec(
            update(WebhookDelivery)
            .where(
                col(WebhookDelivery.id) == delivery_id,
                col(WebhookDelivery.status) == "pending",
                col(WebhookDelivery.attempts) == attempt,
            )
            .values(attempts=attempt + 1)
        ).rowcount
        session.commit()
        if not claimed:
            return "skipped"
        delivery = session.get(WebhookDelivery, delivery_id)
        endpoint = session.get(WebhookEndpoint, delivery.endpoint_id) if delivery else None
        if delivery is None:
            return "skipped"
        if endpoint is None or endpoint.disabled_at is not None:
            delivery.status = "failed"
            session.add(delivery)
            session.commit()
            return "endpoint_disabled"
        url, payload = endpoint.url, delivery.payload.encode()
        secrets = endpoint_health.signing_secrets(endpoint, utcnow())

    result = sender.post(
        url,
        secrets,
        delivery_id,
        payload,
        timeout=settings.webhook_timeout,
        allow_private=settings.webhook_allow_private,
        extra_ports=settings.webhook_extra_ports,
    )

    with Session(engine) as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        endpoint = session.get(WebhookEndpoint, delivery.endpoint_id) if delivery else None
        if delivery is None or endpoint is None:
            return "deleted"
        session.add(
            WebhookAttempt(
                delivery_id=delivery_id,
                status_code=result.status_code,
                error=result.error,
                duration_ms=result.duration_ms,
                response_body=result.body,
            )
        )
        delivery.locked_until = None
        now = utcnow()
        if result.ok:
            delivery.status, outcome = "succeeded", "success"
            endpoint_health.delivered(session, endpoint)
        elif result.status_code == 410:
            delivery.status, outcome = "failed", "gone"
            if endpoint.disabled_at is None:
                endpoint_health.disable(session, endpoint, now, endpoint_health.GONE_REASON)
        else:
            outcome = "failure"
            wait = delay_after(delivery.attempts, result.retry_after)
            if wait is None:
                delivery.status = "failed"
                endpoint_health.exhausted(session, endpoint, now, settings)
            else:
                delivery.next_attempt_at = now + timedelta(seconds=wait)
        session.add(delivery)
        session.commit()
    DELIVERIES.labels(outcome).inc()
    return outcome


def enqueue_due(engine: Engine, send: Callable[[str, int], None], limit: int = 100) -> int:
    """Hand due deliveries to `send` (the queue), each under a short lease so it is sent once."""
    now = utcnow()
    with Session(engine) as session:
        due = session.exec(
            select(WebhookDelivery.id, WebhookDelivery.attempts)
            .where(
                WebhookDelivery.status == "pending",
                col(WebhookDelivery.next_attempt_at) <= now,
                or_(
                    col(WebhookDelivery.locked_until).is_(None),
                    col(WebhookDelivery.locked_until) < now,
                ),
            )
            .limit(limit)
        ).all()
        sent = 0
        for delivery_id, attempts in due:
            taken = session.exec(
                update(WebhookDelivery)
                .where(
                    col(WebhookDelivery.id) == delivery_id,
                    or_(
                        col(WebhookDelivery.locked_until).is_(None),
                        col(WebhookDelivery.locked_until) < now,
                    ),
                )
                .values(locked_until=now + ENQUEUE_LEASE)
            ).rowcount
            session.commit()
            if taken:
                send(delivery_id, attempts)
                sent += 1
        return sent


def wait_for_schema(engine: Engine, stop: threading.Event) -> None:
    """Chat migrates its database when it starts; on a first run the chat-worker may be up
    before that, and its queries would fail (`no such table`) until then."""
    said = False
    while not stop.is_set():
        try:
            if inspect(engine).has_table(WebhookDelivery.__tablename__):
                return
        except Exception as exc:
            log.debug("database not reachable yet: %s", exc)
        if not said:
            log.info("waiting for chat to create its tables")
            said = True
        stop.wait(0.5)
