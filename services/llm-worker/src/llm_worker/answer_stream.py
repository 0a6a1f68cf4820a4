"""The answer's Redis stream `parley:answer:{message_id}` (DESIGN.md §4), written by the worker.

Entries have a `type` (delta, reset, done, error) and a JSON `data` field; SSE readers turn each
entry into one event whose id is the entry id.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from redis import Redis

KEY = "parley:answer:{}"
EXPIRE_AFTER_END = 3600


def key(message_id: uuid.UUID | str) -> str:
    return KEY.format(message_id)


class AnswerStream:
    def __init__(self, redis: Redis, message_id: uuid.UUID) -> None:
        self.redis = redis
        self.key = key(message_id)

    def append(self, kind: str, data: dict[str, Any]) -> None:
        self.redis.xadd(self.key, {"type": kind, "data": json.dumps(data)})

    def end(self, kind: str, data: dict[str, Any]) -> None:
        with self.redis.pipeline() as pipe:
            pipe.xadd(self.key, {"type": kind, "data": json.dumps(data)})
            pipe.expire(self.key, EXPIRE_AFTER_END)
            pipe.execute()
