from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from auth_service.admin import service
from auth_service.admin.schemas import AdminUser, AdminUserPage, AdminUserUpdate
from auth_service.dependencies import RuntimeDep, SessionDep, StaffUser
from kit.schemas import NO_NUL, QueryText

router = APIRouter(responses={403: {"description": "Staff only"}})


@router.get("/api/admin/users", response_model=AdminUserPage)
async def list_users(
    _: StaffUser,
    runtime: RuntimeDep,
    session: SessionDep,
    q: Annotated[
        QueryText | None,
        Query(json_schema_extra=NO_NUL, max_length=254, description="Part of an email or username"),
    ] = None,
    cursor: Annotated[QueryText | None, Query(json_schema_extra=NO_NUL, max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> AdminUserPage:
    """Users, newest first, with an optional search; page on with `next_cursor`."""
    return await service.list_users(
        runtime, session, search=q.strip() if q else None, cursor=cursor, limit=limit
    )


@router.patch(
    "/api/admin/users/{user_id}",
    response_model=AdminUser,
    responses={404: {"description": "No such user"}, 409: {"description": "Not on yourself"}},
)
async def update_user(
    user_id: uuid.UUID,
    data: AdminUserUpdate,
    staff: StaffUser,
    runtime: RuntimeDep,
    session: SessionDep,
) -> AdminUser:
    """Deactivate or reactivate an account (deactivation signs it out everywhere), or set staff."""
    return await service.update_user(runtime, session, staff, user_id, data)
