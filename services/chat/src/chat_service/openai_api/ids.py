"""The ids the OpenAI-compatible API shows for Parley's records (docs/DESIGN.md §12): a
response is a message (`resp_…`), its output item the answer (`msg_…`), the user's input item
`msg_in_…`, a conversation a dialog (`conv_…`)."""

from __future__ import annotations

import uuid
from typing import Any

RESPONSE = "resp_"
CONVERSATION = "conv_"
OUTPUT_ITEM = "msg_"
INPUT_ITEM = "msg_in_"


def shown(prefix: str, record_id: uuid.UUID) -> str:
    return prefix + record_id.hex


def parsed(prefix: str, shown_id: str) -> uuid.UUID | None:
    """The record id behind `shown_id`, or None when it is not one of ours."""
    if not shown_id.startswith(prefix):
        return None
    try:
        return uuid.UUID(hex=shown_id.removeprefix(prefix))
    except ValueError:
        return None


def openai_list(page: list[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    """A page as OpenAI's cursor lists show it (the SDK pages on with `after=last_id`)."""
    return {
        "object": "list",
        "data": page,
        "first_id": page[0]["id"] if page else None,
        "last_id": page[-1]["id"] if page else None,
        "has_more": has_more,
    }
