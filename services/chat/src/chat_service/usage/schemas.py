from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, Field

from kit.schemas import Input


class UsageRow(BaseModel):
    date: date
    model: str
    messages: int
    prompt_tokens: int
    completion_tokens: int
    estimated_tokens: int = Field(
        description="How many of these tokens Parley estimated (the provider gave no counts)"
    )


class UsageTotals(BaseModel):
    messages: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated_tokens: int = 0


class BudgetState(BaseModel):
    """A user's monthly token budget and where they stand in the current (UTC) month."""

    monthly_tokens: int | None = Field(description="The budget; null: unlimited")
    overridden: bool = Field(description="Set by staff for this user, not the default")
    used: int = Field(description="Tokens used this month")
    resets_at: datetime = Field(description="When the month (and its count) starts again")


class Usage(BaseModel):
    data: list[UsageRow]
    totals: UsageTotals
    budget: BudgetState | None = Field(
        None, description="The caller's own budget (absent in the staff view across users)"
    )


class UserUsage(UsageTotals):
    user_id: uuid.UUID


class AdminUsage(Usage):
    users: list[UserUsage] = Field(description="Totals per user in the period, largest first")


class BudgetIn(Input):
    monthly_tokens: int | None = Field(
        ..., ge=0, le=10**15, description="Tokens per month; null: back to the default"
    )
