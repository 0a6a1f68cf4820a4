"""Request dependencies shared by auth's domains: the runtime, the DB session, the caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from auth_service.models import AuthSession, User
from auth_service.runtime import Runtime
from kit.dependencies import ClaimsDep as ClaimsDep
from kit.dependencies import Internal as Internal
from kit.dependencies import SessionDep as SessionDep
from kit.errors import Forbidden, Unauthorized


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_current_user(claims: ClaimsDep, session: SessionDep) -> User:
    """The signed-in user; a revoked session or a deactivated user is refused at once.

    Nothing in auth is open to an API key (keys, password, account, admin): the gateway refuses
    such tokens already, and this says so again for a token that reached auth some other way.
    """
    if claims.key_id is not None:
        raise Forbidden("API keys cannot be used here; sign in.", code="api_key_not_allowed")
    auth_session = await session.get(AuthSession, claims.session_id)
    if auth_session is None or auth_session.revoked_at is not None:
        raise Unauthorized("This session has ended; sign in again.", code="session_revoked")
    user = await session.get(User, claims.user_id)
    if user is None or not user.is_active:
        raise Unauthorized("This account is not active.", code="account_inactive")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


async def get_staff_user(user: CurrentUser) -> User:
    """The signed-in user if they are staff (checked in the database, not only in the token)."""
    if not user.is_staff:
        raise Forbidden("Only staff may do this.")
    return user


StaffUser = Annotated[User, Depends(get_staff_user)]
