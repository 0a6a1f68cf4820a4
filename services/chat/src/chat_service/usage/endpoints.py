"""`GET /api/usage` (yours), and for staff `GET /api/admin/usage` and the per-user budget."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from chat_service.dependencies import Caller, RuntimeDep, SessionDep
from chat_service.usage import repository, service
from chat_service.usage.schemas import AdminUsage, BudgetIn, BudgetState, Usage
from kit.db import utcnow
from kit.errors import FieldErrors, Forbidden
from kit.jwt import AccessClaims
from kit.schemas import QueryText

router = APIRouter(tags=["usage"])
MAX_DAYS = 366


async def staff_caller(caller: Caller) -> AccessClaims:
    # the gateway refuses non-staff tokens already; an API key's token is never staff
    if not caller.staff:
        raise Forbidden("Only staff may do this.")
    return caller


Staff = Annotated[AccessClaims, Depends(staff_caller)]


# A date as `YYYY-MM-DD` only: pydantic would also read `0` as 1970-01-01 (a timestamp).
ISO_DATE = {"pattern": r"^\d{4}-\d{2}-\d{2}$", "format": "date"}
FROM = Query(
    alias="from",
    description="First day (UTC); default: 29 days before `to`",
    json_schema_extra=ISO_DATE,
)
TO = Query(
    alias="to", description="Last day (UTC), included; default: today", json_schema_extra=ISO_DATE
)


def _day(value: str | None, field: str) -> date | None:
    if value is None:
        return None
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise FieldErrors({field: ["Give a date as YYYY-MM-DD."]})


def period(
    start_text: Annotated[QueryText | None, FROM] = None,
    end_text: Annotated[QueryText | None, TO] = None,
) -> tuple[date, date]:
    end = _day(end_text, "to") or utcnow().date()
    start = _day(start_text, "from") or end - timedelta(days=29)
    if start > end:
        raise FieldErrors({"from": ["Must be on or before `to`."]})
    if (end - start).days >= MAX_DAYS:
        raise FieldErrors({"from": [f"Ask for at most {MAX_DAYS} days at once."]})
    return start, end


Period = Annotated[tuple[date, date], Depends(period)]


@router.get("/api/usage", response_model=Usage)
async def my_usage(
    caller: Caller,
    days: Period,
    runtime: RuntimeDep,
    session: SessionDep,
    key_id: Annotated[uuid.UUID | None, Query(description="Only what this API key used")] = None,
) -> Usage:
    """Your tokens per day and model in the period, the totals, and your monthly budget."""
    data, totals = await repository.by_day_and_model(
        session, *days, user_id=caller.user_id, key_id=key_id
    )
    budget = await service.budget_state(runtime, session, caller.user_id)
    return Usage(data=data, totals=totals, budget=budget)


@router.get("/api/admin/usage", response_model=AdminUsage, responses={403: {}})
async def all_usage(
    _: Staff,
    days: Period,
    session: SessionDep,
    user_id: uuid.UUID | None = None,
    workspace_id: uuid.UUID | None = None,
) -> AdminUsage:
    """Tokens across users (or of one user or workspace) per day and model, and per user."""
    data, totals = await repository.by_day_and_model(
        session, *days, user_id=user_id, workspace_id=workspace_id
    )
    users = await repository.by_user(session, *days, user_id=user_id, workspace_id=workspace_id)
    return AdminUsage(data=data, totals=totals, users=users)


@router.get("/api/admin/users/{user_id}/budget", response_model=BudgetState, responses={403: {}})
async def user_budget(
    user_id: uuid.UUID, _: Staff, runtime: RuntimeDep, session: SessionDep
) -> BudgetState:
    """A user's monthly budget and what they used this month."""
    return await service.budget_state(runtime, session, user_id)


@router.put("/api/admin/users/{user_id}/budget", response_model=BudgetState, responses={403: {}})
async def set_user_budget(
    user_id: uuid.UUID, data: BudgetIn, _: Staff, runtime: RuntimeDep, session: SessionDep
) -> BudgetState:
    """Set a user's monthly token budget (`null`: the default again). An answer already
    running is never cut; the next message is checked."""
    return await service.set_budget(runtime, session, user_id, data.monthly_tokens)
