"""An answer in flight, in Redis (docs/DESIGN.md §4): shared by the worker and chat.

Redis is the one owner of what happens while an answer is generated; the database holds the
message `queued` until its outcome is stored. Chat never hears "started" from the worker:

- the stream `parley:answer:{message_id}`; each entry has a `type` — `delta {text}`, `reset {}`,
  `done {message}` or `error {code, message, retryable}` — and its JSON `data`. The worker writes
  deltas (each also carrying `w` and `n`, its writer and sequence number, so a delta sent again
  after a lost reply is stored once) and resets; chat writes the final `done`/`error` when it
  stores the outcome, so a reader that sees the end can rely on the stored message. The stream
  expires an hour after it ends.
- the lease `parley:lease:{id}`, held with a short TTL by the worker generating the answer and
  renewed by its heartbeat: a second copy of the job waits while it lives, and chat shows a
  `queued` message whose lease is held as `generating`.
- the heartbeat `parley:heartbeat:{id}`: when the answer's worker last beat (chat's sweep fails
  an answer whose worker stopped beating, and queues again one no worker ever began).
- the end mark `parley:ended:{id}`: the newest generation of the answer that has ended (stored,
  cancelled, failed by the sweep, or replaced by a regenerate). Chat sets it when it ends one;
  a worker skips a job of that generation or an older one, and stops one under way.
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


def ended_key(message_id: uuid.UUID | str) -> str:
    """The newest generation that has ended; workers watch it and stop older generations."""
    return f"parley:ended:{message_id}"


ENDED_KEEP_SECONDS = 24 * 3600  # longer than any job waits in the queue or is redelivered


def has_ended(ended: bytes | str | None, generation: int) -> bool:
    """Whether an end mark (`ended_key`'s value) covers `generation`."""
    return ended is not None and int(ended) >= generation


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
