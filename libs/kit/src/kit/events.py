"""Events on the broker: the envelope, the topology and publishing (docs/DESIGN.md §5).

The whole topology — the `parley.events` topic exchange and every consumer's durable queue with
its bindings — is declared here, by producers and consumers alike, so an event published before
its consumer first starts is queued rather than dropped.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from kombu import Connection, Exchange, Queue
from pydantic import BaseModel, Field

from kit import event_types

EXCHANGE = Exchange("parley.events", type="topic", durable=True)


class Event(BaseModel):
    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str
    version: int = 1
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    data: dict[str, Any]


# consumer queue -> routing keys it receives
SUBSCRIPTIONS: dict[str, tuple[str, ...]] = {
    "mailer": (
        event_types.EMAIL_CONFIRMATION_REQUESTED,
        event_types.PASSWORD_RESET_REQUESTED,
        event_types.PASSWORD_CHANGED,
        event_types.EMAIL_CONFIRMED,
        event_types.WEBHOOK_FAILING,
        event_types.WEBHOOK_DISABLED,
        event_types.WORKSPACE_INVITATION,
    ),
    "chat.events": (event_types.USER_DELETED,),
}


def queue(name: str) -> Queue:
    from kombu import binding

    return Queue(
        name,
        exchange=EXCHANGE,
        bindings=[binding(EXCHANGE, routing_key=key) for key in SUBSCRIPTIONS[name]],
        durable=True,
    )


def dead_letter_queue(name: str) -> Queue:
    """Where consumer `name` parks the events it gave up on, for an operator to list and replay.

    It hangs off the default exchange (routing key = its own name), so nothing published to
    `parley.events` ever lands in it.
    """
    return Queue(f"{name}.dead", durable=True)


def declare_topology(connection: Connection) -> None:
    channel = connection.default_channel
    EXCHANGE(channel).declare()
    for name in SUBSCRIPTIONS:
        queue(name)(channel).declare()
        dead_letter_queue(name)(channel).declare()


KOMBU_VISIBILITY_SECONDS = 3600  # kombu's own default, for consumers that set none


def redis_consumer_options(visibility_timeout: int) -> dict[str, int]:
    """kombu's Redis transport options for a consumer of the broker.

    A message a consumer took but never acknowledged (it died) is handed out again once
    `visibility_timeout` has passed: consumers sweep for such messages, often enough here for
    the timeout to be what decides. Every consumer of one Redis broker sweeps under one shared
    lock (`unacked_mutex`), which kombu keeps for 5 minutes should its holder die; a process
    killed while sweeping (a SIGKILLed worker, the OOM killer) then held up every redelivery,
    of every consumer of the broker, for 5 minutes. Here the lock lasts as long as a sweep's
    interval. Two sweeps at once are harmless: each restore is a transaction on the message.
    """
    sweep = max(1, min(10, visibility_timeout // 3))
    return {
        "visibility_timeout": visibility_timeout,
        "unacked_restore_interval": sweep,
        "unacked_restore_throttle": 1,  # every interval really sweeps
        "unacked_mutex_expire": max(2, sweep),
    }


def connect(broker_url: str) -> Connection:
    """A kombu connection; AMQP publishes wait for the broker's confirm."""
    options: dict[str, Any] = {}
    if broker_url.startswith(("amqp", "pyamqp")):
        options["confirm_publish"] = True
    return Connection(broker_url, transport_options=options, connect_timeout=5)


def publish(connection: Connection, event: Event) -> None:
    producer = connection.Producer(serializer="json")
    producer.publish(
        event.model_dump(mode="json"),
        exchange=EXCHANGE,
        routing_key=event.type,
        delivery_mode=2,
        message_id=str(event.id),
        retry=False,
    )
