from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from auth_service.accounts.schemas import UserPublic
from kit.schemas import Input


class AdminUser(UserPublic):
    is_active: bool
    updated_at: datetime


class AdminUserPage(BaseModel):
    data: list[AdminUser]
    next_cursor: str | None


class AdminUserUpdate(Input):
    is_active: bool | None = None
    is_staff: bool | None = None
