"""Mailer metrics (docs/DESIGN.md §8). Labels are template names and fixed codes, not addresses."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EMAILS = Counter(
    "parley_emails_total",
    "Mail events handled, by outcome: sent, retry (a temporary failure, tried again), failed "
    "(refused permanently), dead_lettered (retries exhausted), duplicate, invalid.",
    ["template", "result"],
)
RETRIES = Counter(
    "parley_email_retries_total",
    "Temporary SMTP failures that were scheduled for another try.",
    ["template", "reason"],
)
DEAD_LETTERS = Counter(
    "parley_email_dead_letters_total",
    "Mail events moved to the dead-letter queue.",
    ["template", "reason"],
)
SEND_SECONDS = Histogram(
    "parley_email_send_duration_seconds",
    "Time of one SMTP transaction (connect to accepted), successful or not.",
    ["template"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
INFLIGHT = Gauge(
    "parley_emails_inflight", "Mail events being delivered (sending or waiting to retry)."
)
