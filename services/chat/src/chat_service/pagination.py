"""Opaque keyset cursors: `(timestamp, id)` encoded in URL-safe base64."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime

from kit.errors import FieldErrors


def encode_cursor(at: datetime, row_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{row_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str, field: str = "cursor") -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, row_id = raw.split("|", 1)
        return datetime.fromisoformat(at), uuid.UUID(row_id)
    except (ValueError, UnicodeDecodeError):
        raise FieldErrors({field: ["This cursor is invalid."]}) from None
