"""Operator tools for the mailer's dead-letter queue (`parley mailer dead-letters` / `replay`)."""

from __future__ import annotations

from typing import Any

from kit.consumer import browse_dead_letters, replay_dead_letters
from mailer.main import QUEUE
from mailer.render import TEMPLATES


def list_dead_letters(broker_url: str) -> list[dict[str, Any]]:
    """Every mail event in `mailer.dead`, oldest first, without removing any.

    Each entry: `event_id`, `type`, `template`, `to`, `occurred_at`, `reason`
    (`retries_exhausted`, `permanent_failure`, `invalid_event`, `malformed`, ...), `detail`
    (the last SMTP reply or the validation error) and `dead_lettered_at`.
    """
    entries = []
    for record in browse_dead_letters(broker_url, QUEUE):
        body = record.body or {}
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        event_type = str(body.get("type", ""))
        entries.append(
            {
                "event_id": record.event_id,
                "type": event_type,
                "template": TEMPLATES.get(event_type),
                "to": data.get("email") if data else None,
                "occurred_at": body.get("occurred_at"),
                "reason": record.reason,
                "detail": record.detail,
                "dead_lettered_at": record.dead_lettered_at,
            }
        )
    return entries


def replay(broker_url: str, event_ids: list[str] | None) -> int:
    """Send dead-lettered events back to the mailer (all when `event_ids` is None).

    They get a fresh set of attempts; one already sent meanwhile is skipped as a duplicate.
    Returns how many events were replayed.
    """
    return replay_dead_letters(broker_url, QUEUE, event_ids)
