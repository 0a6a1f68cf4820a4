"""Usage and budgets (docs/DESIGN.md §11): every stored answer's tokens, and a monthly token
budget per user checked before a message is queued or stored.

`record` adds one `UsageRecord` per stored answer, in the answer's own transaction (an answer
is counted exactly when it is stored, once). The budget check sums the current month's records
of the user (an index on user and day keeps that a short range scan) and refuses with
`budget_exceeded` once the tokens used reach the budget (a user nobody limits costs one lookup
by key and no sum). Answers already admitted run to their end and count in full, so a user can
overshoot by what was in flight when the budget ran out, never by a message posted after.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

from prometheus_client import Counter
from sqlmodel.ext.asyncio.session import AsyncSession

from chat_service.models import Budget, Message
from chat_service.runtime import Runtime
from chat_service.usage import repository as repo
from chat_service.usage.schemas import BudgetState
from kit.db import utcnow
from kit.errors import TooManyRequests
from kit.ratelimit import REFUSALS

TOKENS = Counter(
    "parley_usage_tokens_total",
    "Tokens of stored answers, as the provider counted them or Parley estimated them.",
    ["model", "kind"],
)


class BudgetExceeded(TooManyRequests):
    code = "budget_exceeded"

    def __init__(self, state: BudgetState) -> None:
        wait = int((state.resets_at - utcnow()).total_seconds())
        month = int(
            (state.resets_at - datetime.combine(month_start(utcnow()), time(), UTC)).total_seconds()
        )
        super().__init__(
            f"Your monthly budget of {state.monthly_tokens} tokens is used up; "
            f"it resets on {state.resets_at.date().isoformat()}.",
            retry_after=wait,
            # the IETF RateLimit fields, as for the rate limits: the policy is the month
            headers={
                "RateLimit-Policy": f'"monthly-tokens";q={state.monthly_tokens};w={month}',
                "RateLimit": f'"monthly-tokens";r=0;t={max(1, wait)}',
            },
        )
        self.state = state

    def extra(self) -> dict[str, object]:
        return {"budget": self.state.model_dump(mode="json")}


def month_start(now: datetime) -> date:
    return now.date().replace(day=1)


def next_month(now: datetime) -> datetime:
    first = month_start(now)
    following = (first + timedelta(days=32)).replace(day=1)
    return datetime.combine(following, time(), tzinfo=UTC)


async def record(session: AsyncSession, message: Message) -> None:
    """Count a stored answer's tokens (none when the worker reported none: nothing was made).
    One plain INSERT: the row is never read back in this transaction."""
    usage = message.usage or {}
    prompt, completion = int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))
    if not prompt and not completion:
        return
    await repo.add_record(
        session, message, prompt, completion, estimated=bool(usage.get("estimated"))
    )
    TOKENS.labels(message.model, "prompt").inc(prompt)
    TOKENS.labels(message.model, "completion").inc(completion)


async def budget_state(runtime: Runtime, session: AsyncSession, user_id: uuid.UUID) -> BudgetState:
    """Where the user stands this month."""
    now = utcnow()
    own = await session.get(Budget, user_id)
    return BudgetState(
        monthly_tokens=own.monthly_tokens if own else runtime.settings.default_monthly_tokens,
        overridden=own is not None,
        used=await repo.tokens_since(session, user_id, month_start(now)),
        resets_at=next_month(now),
    )


async def check_budget(runtime: Runtime, session: AsyncSession, user_id: uuid.UUID) -> None:
    """Refuse a new answer once the month's tokens reached the budget (429 `budget_exceeded`)."""
    if (
        runtime.settings.default_monthly_tokens is None
        and await session.get(Budget, user_id) is None
    ):
        return  # nobody limits this user: no sum to make
    state = await budget_state(runtime, session, user_id)
    if state.monthly_tokens is not None and state.used >= state.monthly_tokens:
        REFUSALS.labels("budget_exceeded", "monthly-tokens").inc()
        raise BudgetExceeded(state)


async def set_budget(
    runtime: Runtime, session: AsyncSession, user_id: uuid.UUID, monthly_tokens: int | None
) -> BudgetState:
    budget = await session.get(Budget, user_id)
    if monthly_tokens is None:
        if budget is not None:
            await session.delete(budget)
    elif budget is None:
        session.add(Budget(user_id=user_id, monthly_tokens=monthly_tokens))
    else:
        budget.monthly_tokens = monthly_tokens
        budget.updated_at = utcnow()
        session.add(budget)
    await session.flush()
    return await budget_state(runtime, session, user_id)
