"""Which users have a budget of their own, remembered for a few seconds per process.

Most users have none, and the budget check runs on every post: remembering spares it a query.
A staff change applies at once in the process that made it (`forget`), and within
`OVERRIDE_SECONDS` in the others.
"""

from __future__ import annotations

import uuid
from time import monotonic

from sqlmodel.ext.asyncio.session import AsyncSession

from chat_service.models import Budget

OVERRIDE_SECONDS = 10.0
_NONE = -1  # remembered: this user has no budget of their own


class BudgetOverrides:
    """Each user's own monthly budget as staff set it (or none), remembered for a few seconds."""

    def __init__(self, max_users: int = 100_000) -> None:
        self._known: dict[uuid.UUID, tuple[float, int]] = {}
        self._max = max_users

    async def of(self, session: AsyncSession, user_id: uuid.UUID) -> int | None:
        now = monotonic()
        known = self._known.get(user_id)
        if known is None or known[0] < now:
            row = await session.get(Budget, user_id)
            if len(self._known) >= self._max:
                self._known.clear()
            known = (now + OVERRIDE_SECONDS, _NONE if row is None else row.monthly_tokens)
            self._known[user_id] = known
        return None if known[1] == _NONE else known[1]

    def forget(self, user_id: uuid.UUID) -> None:
        self._known.pop(user_id, None)
