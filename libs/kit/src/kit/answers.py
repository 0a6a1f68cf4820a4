"""The answer stream contract (docs/DESIGN.md §4), shared by the worker (writer) and chat (reader).

Redis stream `parley:answer:{message_id}`; each entry has a `type` — `delta {text}`, `reset {}`,
`done {message}` or `error {code, message, retryable}` — and its JSON `data`. The worker writes
deltas (each also carrying `w` and `n`, its writer and sequence number, so a delta sent again
after a lost reply is stored once) and resets; chat writes the final `done`/`error` when it
stores the outcome, so a reader that sees the end can rely on the stored message. The stream
expires an hour after it ends.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from redis.typing import EncodableT, FieldT

EXPIRE_AFTER_END_SECONDS = 3600
TERMINAL = frozenset({"done", "error"})


def stream_key(message_id: uuid.UUID | str) -> str:
    return f"parley:answer:{message_id}"


def cancel_key(message_id: uuid.UUID | str) -> str:
    """Set when a user cancels; workers watch it and close the upstream request."""
    return f"parley:cancel:{message_id}"


def lease_key(message_id: uuid.UUID | str) -> str:
    """Held (with a short TTL, renewed by a heartbeat) by the worker generating the answer."""
    return f"parley:lease:{message_id}"


def heartbeat_key(message_id: uuid.UUID | str) -> str:
    """Unix time of the last heartbeat of the answer's worker (read by chat's reaper)."""
    return f"parley:heartbeat:{message_id}"


def encode(kind: str, data: dict[str, Any]) -> dict[FieldT, EncodableT]:
    return {"type": kind, "data": dump(data)}


def dump(data: dict[str, Any]) -> str:
    """An entry's `data` field."""
    return json.dumps(data, separators=(",", ":"))


def decode(fields: Mapping[Any, Any]) -> tuple[str, dict[str, Any]]:
    kind = bytes(fields[b"type"]).decode()
    data: dict[str, Any] = json.loads(fields[b"data"])
    return kind, data
