"""Usage and budgets (docs/DESIGN.md §11): every stored answer's tokens, and a monthly token
budget per user checked before a message is queued or stored.

`record` adds one `UsageRecord` per stored answer, in the answer's own transaction (an answer
is counted exactly when it is stored, once). The budget check sums the current month's records
of the user (an index on user and day keeps that a short range scan) and refuses with
`budget_exceeded` once the tokens used reach the budget; whether a user has a budget of their
own is remembered for a few seconds (`overrides`), so a post by someone nobody limits costs no
query. Answers already admitted run to their end and count in full, so a user can overshoot by
what was in flight when the budget ran out, never by a message posted after.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

from prometheus_client import Counter
from sqlalchemy import ColumnElement, case, func, insert
from sqlalchemy import select as sa_select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from chat_service.models import Budget, Message, UsageRecord
from chat_service.runtime import Runtime
from chat_service.usage.schemas import BudgetState, UsageRow, UsageTotals, UserUsage
from kit.db import new_id, utcnow
from kit.errors import TooManyRequests
from kit.ratelimit import REFUSALS

TOKENS = Counter(
    "parley_usage_tokens_total",
    "Tokens of stored answers, as the provider counted them or Parley estimated them.",
    ["model", "kind"],
)


_BOTH = col(UsageRecord.prompt_tokens) + col(UsageRecord.completion_tokens)


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
    await session.exec(
        insert(UsageRecord).values(
            id=new_id(),
            message_id=message.id,
            day=(message.completed_at or utcnow()).date(),
            user_id=message.user_id,
            key_id=message.key_id,
            model=message.model,
            prompt_tokens=prompt,
            completion_tokens=completion,
            estimated=bool(usage.get("estimated")),
        )
    )
    TOKENS.labels(message.model, "prompt").inc(prompt)
    TOKENS.labels(message.model, "completion").inc(completion)


async def budget_state(
    runtime: Runtime, session: AsyncSession, user_id: uuid.UUID, own: int | None = None
) -> BudgetState:
    """Where the user stands this month; `own` is their own budget if the caller knows it."""
    now = utcnow()
    if own is None:
        override = await session.get(Budget, user_id)
        own = override.monthly_tokens if override else None
    monthly = own if own is not None else runtime.settings.default_monthly_tokens
    used = await session.scalar(
        sa_select(func.coalesce(func.sum(_BOTH), 0)).where(
            col(UsageRecord.user_id) == user_id, col(UsageRecord.day) >= month_start(now)
        )
    )
    return BudgetState(
        monthly_tokens=monthly,
        overridden=own is not None,
        used=int(used or 0),
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
    runtime.budgets.forget(user_id)
    return await budget_state(runtime, session, user_id)


# the sums every view shows: messages, prompt, completion, and how many tokens were estimated
_SUMS = (
    func.count(),
    func.sum(col(UsageRecord.prompt_tokens)),
    func.sum(col(UsageRecord.completion_tokens)),
    func.sum(case((col(UsageRecord.estimated), _BOTH), else_=0)),
)


def _filters(
    start: date,
    end: date,
    user_id: uuid.UUID | None,
    workspace_id: uuid.UUID | None,
    key_id: uuid.UUID | None = None,
) -> list[ColumnElement[bool]]:
    where = [col(UsageRecord.day) >= start, col(UsageRecord.day) <= end]
    if key_id is not None:
        where.append(col(UsageRecord.key_id) == key_id)
    if user_id is not None:
        where.append(col(UsageRecord.user_id) == user_id)
    if workspace_id is not None:
        where.append(col(UsageRecord.workspace_id) == workspace_id)
    return where


async def by_day_and_model(
    session: AsyncSession,
    start: date,
    end: date,
    *,
    user_id: uuid.UUID | None = None,
    workspace_id: uuid.UUID | None = None,
    key_id: uuid.UUID | None = None,
) -> tuple[list[UsageRow], UsageTotals]:
    rows = (
        await session.exec(
            sa_select(col(UsageRecord.day), col(UsageRecord.model), *_SUMS)  # type: ignore[call-overload]
            .where(*_filters(start, end, user_id, workspace_id, key_id))
            .group_by(col(UsageRecord.day), col(UsageRecord.model))
            .order_by(col(UsageRecord.day), col(UsageRecord.model))
        )
    ).all()
    data = [
        UsageRow(
            date=day,
            model=model,
            messages=int(n),
            prompt_tokens=int(p or 0),
            completion_tokens=int(c or 0),
            estimated_tokens=int(e or 0),
        )
        for day, model, n, p, c, e in rows
    ]
    totals = UsageTotals(
        messages=sum(r.messages for r in data),
        prompt_tokens=sum(r.prompt_tokens for r in data),
        completion_tokens=sum(r.completion_tokens for r in data),
        estimated_tokens=sum(r.estimated_tokens for r in data),
    )
    return data, totals


async def by_user(
    session: AsyncSession,
    start: date,
    end: date,
    *,
    user_id: uuid.UUID | None = None,
    workspace_id: uuid.UUID | None = None,
    limit: int = 100,
) -> list[UserUsage]:
    rows = (
        await session.exec(
            sa_select(col(UsageRecord.user_id), *_SUMS)  # type: ignore[call-overload]
            .where(*_filters(start, end, user_id, workspace_id))
            .group_by(col(UsageRecord.user_id))
            .order_by(func.sum(_BOTH).desc())
            .limit(limit)
        )
    ).all()
    return [
        UserUsage(
            user_id=uid,
            messages=int(n),
            prompt_tokens=int(p or 0),
            completion_tokens=int(c or 0),
            estimated_tokens=int(e or 0),
        )
        for uid, n, p, c, e in rows
    ]
