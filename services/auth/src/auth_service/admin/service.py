"""Staff administration: find users, deactivate or reactivate them, grant or take staff rights."""

from __future__ import annotations

import uuid

from sqlmodel.ext.asyncio.session import AsyncSession

from auth_service.accounts.service import user_public
from auth_service.admin import repository as repo
from auth_service.admin.schemas import AdminUser, AdminUserPage, AdminUserUpdate
from auth_service.api_keys import service as api_keys
from auth_service.models import Profile, User
from auth_service.profiles.service import profile_of
from auth_service.runtime import Runtime
from auth_service.sessions import service as sessions
from kit.avatars.store import AvatarStore
from kit.db import utcnow
from kit.errors import Conflict, NotFound
from kit.pagination import Position, decode_cursor, split


class UserNotFound(NotFound):
    code = "user_not_found"

    def __init__(self) -> None:
        super().__init__("No such user.")


class CannotChangeSelf(Conflict):
    code = "cannot_change_self"

    def __init__(self) -> None:
        super().__init__("You cannot deactivate yourself or take away your own staff rights.")


def admin_user(user: User, profile: Profile, avatars: AvatarStore) -> AdminUser:
    return AdminUser(
        **user_public(user, profile, avatars).model_dump(),
        is_active=user.is_active,
        updated_at=user.updated_at,
    )


async def list_users(
    runtime: Runtime, session: AsyncSession, *, search: str | None, cursor: str | None, limit: int
) -> AdminUserPage:
    rows = await repo.page_of_users(
        session, search=search, after=decode_cursor(cursor), limit=limit
    )
    page, next_cursor = split(rows, limit, lambda row: Position(row[0].created_at, row[0].id))
    return AdminUserPage(
        data=[admin_user(user, profile, runtime.avatars) for user, profile in page],
        next_cursor=next_cursor,
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
            await api_keys.refuse_all(runtime, session, user.id)
    user.updated_at = utcnow()
    await session.flush()
    return admin_user(user, await profile_of(session, user), runtime.avatars)
