"""The id of a user's personal workspace, derived from theirs: placing a dialog there needs no
lookup (docs/DESIGN.md §10)."""

from __future__ import annotations

import uuid

PERSONAL_NAMESPACE = uuid.UUID("6f1d1c52-3b3e-4a59-9d0e-2f7c0b6a4d10")


def personal_id(user_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(PERSONAL_NAMESPACE, str(user_id))
