"""Staff administration: find users, deactivate or reactivate them, grant or take staff rights."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from auth_service.accounts.service import user_public
from auth_service.admin import repository as repo
from auth_service.admin.schemas import AdminUser, AdminUserPage, AdminUserUpdate
from auth_service.models import Profile, User
from auth_service.profiles.service import profile_of
from auth_service.runtime import Runtime
from auth_service.sessions import service as sessions
from kit.db import utcnow
from kit.errors import Conflict, FieldErrors, NotFound


class UserNotFound(NotFound):
    code = "user_not_found"

    def __init__(self) -> None:
        super().__init__("No such user.")


class CannotChangeSelf(Conflict):
    code = "cannot_change_self"

    def __init__(self) -> None:
        super().__init__("You cannot deactivate yourself or take away your own staff rights.")


def encode_cursor(at: datetime, row_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{row_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, row_id = raw.split("|", 1)
        return datetime.fromisoformat(at), uuid.UUID(row_id)
    except (ValueError, UnicodeDecodeError):
        raise FieldErrors({"cursor": ["This cursor is invalid."]}) from None


def admin_user(user: User, profile: Profile, public_url: str) -> AdminUser:
    return AdminUser(
        **user_public(user, profile, public_url).model_dump(),
        is_active=user.is_active,
        updated_at=user.updated_at,
    )


async def list_users(
    runtime: Runtime, session: AsyncSession, *, search: str | None, cursor: str | None, limit: int
) -> AdminUserPage:
    after = decode_cursor(cursor) if cursor else None
    rows = await repo.page_of_users(session, search=search, after=after, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1][0] if more and rows else None
    return AdminUserPage(
        data=[admin_user(user, profile, runtime.settings.public_url) for user, profile in rows],
        next_cursor=encode_cursor(last.created_at, last.id) if last else None,
    )


async def update_user(
    runtime: Runtime, session: AsyncSession, staff: User, user_id: uuid.UUID, data: AdminUserUpdate
) -> AdminUser:
    user = await session.get(User, user_id)
    if user is None:
        raise UserNotFound()
    if user.id == staff.id and (data.is_active is False or data.is_staff is False):
        raise CannotChangeSelf()
    if data.is_staff is not None:
        user.is_staff = data.is_staff
    if data.is_active is not None and data.is_active != user.is_active:
        user.is_active = data.is_active
        if not data.is_active:
            # a deactivated account is signed out everywhere, its access tokens refused at once
            await sessions.revoke_sessions(
                runtime, session, await sessions.active_sessions(session, user.id)
            )
    user.updated_at = utcnow()
    await session.flush()
    return admin_user(user, await profile_of(session, user), runtime.settings.public_url)
