"""What happens to an endpoint whose deliveries keep failing, as Svix and Stripe do it.

A delivery is *exhausted* when its last scheduled attempt failed. Counting exhausted deliveries
since the endpoint's last success:

- the first one mails the owner (`chat.webhook_failing`): deliveries have started failing;
- the `PARLEY_WEBHOOK_DISABLE_AFTER`-th in a row, or any once it has been failing for
  `PARLEY_WEBHOOK_DISABLE_AFTER_DAYS`, disables the endpoint with a `disabled_reason` and mails
  the owner again (`chat.webhook_disabled`); a `410 Gone` disables it at once.

A success resets the count. The owner may enable the endpoint again (`PATCH /api/webhooks/{id}`
`{"disabled": false}`) and retry a failed delivery. The mails leave through chat's outbox; the
mailer looks up the owner's address at auth.

The signing secrets live here too: after a rotation the previous secret signs beside the new one
(Standard Webhooks allows several signatures) until it expires.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import Session, col

from chat_service.config import Settings
from chat_service.models import WebhookEndpoint
from kit import event_types
from kit.event_types import WebhookHealth
from kit.outbox import add_event

GONE_REASON = "The receiver answered 410 Gone."


def _event_data(endpoint: WebhookEndpoint, reason: str | None = None) -> WebhookHealth:
    return event_types.webhook_health(
        endpoint.user_id, endpoint.id, endpoint.url, endpoint.failed_deliveries, reason
    )


def delivered(session: Session, endpoint: WebhookEndpoint) -> None:
    if endpoint.failed_deliveries or endpoint.failing_since is not None:
        endpoint.failed_deliveries = 0
        endpoint.failing_since = None
        session.add(endpoint)


def exhausted(
    session: Session, endpoint: WebhookEndpoint, now: datetime, settings: Settings
) -> None:
    """Count an exhausted delivery (atomically: deliveries end concurrently) and act on it."""
    session.exec(
        update(WebhookEndpoint)
        .where(col(WebhookEndpoint.id) == endpoint.id)
        .values(
            failed_deliveries=col(WebhookEndpoint.failed_deliveries) + 1,
            failing_since=func.coalesce(col(WebhookEndpoint.failing_since), now),
        )
    )
    session.refresh(endpoint)
    if endpoint.disabled_at is not None:
        return
    if endpoint.failed_deliveries == 1:
        add_event(session, event_types.WEBHOOK_FAILING, _event_data(endpoint))
    failing_for = now - (endpoint.failing_since or now)
    if endpoint.failed_deliveries >= settings.webhook_disable_after:
        disable(session, endpoint, now, f"{endpoint.failed_deliveries} deliveries in a row failed.")
    elif failing_for >= timedelta(days=settings.webhook_disable_after_days):
        disable(session, endpoint, now, f"Deliveries failed for {failing_for.days} days.")


def disable(session: Session, endpoint: WebhookEndpoint, now: datetime, reason: str) -> None:
    endpoint.disabled_at = now
    endpoint.disabled_reason = reason
    session.add(endpoint)
    add_event(session, event_types.WEBHOOK_DISABLED, _event_data(endpoint, reason))


def enable(endpoint: WebhookEndpoint) -> None:
    endpoint.disabled_at = None
    endpoint.disabled_reason = None
    endpoint.failed_deliveries = 0
    endpoint.failing_since = None


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The secrets a delivery is signed with: the current one, and the previous while it lasts."""
    secrets = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and now < expires:
        secrets.append(endpoint.previous_secret)
    return secrets


def rotate(endpoint: WebhookEndpoint, new_secret: str, now: datetime, settings: Settings) -> None:
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = now + timedelta(
        hours=settings.webhook_secret_overlap_hours
    )
    endpoint.secret = new_secret
