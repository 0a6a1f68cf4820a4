from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request, Response, status
from sqlmodel.ext.asyncio.session import AsyncSession

from auth_service.accounts import service
from auth_service.accounts.schemas import (
    Accepted,
    EmailIn,
    LoginIn,
    PasswordChangeIn,
    PasswordIn,
    PasswordResetIn,
    RegisterIn,
    TokenIn,
    TokenPair,
    UserPublic,
    UserUpdate,
)
from auth_service.client import client_ip, user_agent
from auth_service.dependencies import ClaimsDep, CurrentUser, RuntimeDep, SessionDep
from auth_service.models import User
from auth_service.profiles.service import profile_of
from auth_service.ratelimit import account_key
from auth_service.runtime import Runtime
from auth_service.sessions.service import Issued
from kit.db import utcnow

router = APIRouter()

Responses = dict[int | str, dict[str, Any]]
THROTTLED: Responses = {429: {"description": "Too many attempts; see `Retry-After`"}}
NO_CONTENT = status.HTTP_204_NO_CONTENT


async def token_pair(runtime: Runtime, session: AsyncSession, issued: Issued) -> TokenPair:
    return TokenPair(
        access_token=issued.access_token,
        expires_in=int(runtime.settings.access_lifetime.total_seconds()),
        refresh_token=issued.refresh_token,
        refresh_expires_in=max(0, int((issued.session_expires_at - utcnow()).total_seconds())),
        user=await public_user(runtime, session, issued.user),
    )


async def public_user(runtime: Runtime, session: AsyncSession, user: User) -> UserPublic:
    profile = await profile_of(session, user)
    return service.user_public(user, profile, runtime.avatars)


@router.post(
    "/api/auth/register",
    status_code=status.HTTP_201_CREATED,
    response_model=TokenPair,
    responses={422: {"description": "Invalid or taken fields"}, **THROTTLED},
)
async def register(
    data: RegisterIn, request: Request, runtime: RuntimeDep, session: SessionDep
) -> TokenPair:
    """Create an account and sign it in; a confirmation mail is sent."""
    issued = await service.register(
        runtime, session, data, user_agent=user_agent(request), ip=client_ip(request)
    )
    return await token_pair(runtime, session, issued)


@router.post(
    "/api/auth/login",
    response_model=TokenPair,
    responses={401: {"description": "Wrong email or password"}, **THROTTLED},
)
async def login(
    data: LoginIn, request: Request, runtime: RuntimeDep, session: SessionDep
) -> TokenPair:
    """Sign in with email and password."""
    issued = await service.login(
        runtime, session, data, user_agent=user_agent(request), ip=client_ip(request)
    )
    return await token_pair(runtime, session, issued)


@router.post(
    "/api/auth/email/confirm",
    response_model=UserPublic,
    responses={400: {"description": "Invalid, used or expired token"}},
)
async def confirm_email(data: TokenIn, runtime: RuntimeDep, session: SessionDep) -> UserPublic:
    """Confirm the email address with the token from the mailed link."""
    user = await service.confirm_email(runtime, session, data.token)
    return await public_user(runtime, session, user)


@router.post(
    "/api/auth/email/resend",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    responses=THROTTLED,
)
async def resend_confirmation(
    user: CurrentUser, runtime: RuntimeDep, session: SessionDep
) -> Accepted:
    """Mail a new confirmation link (the previous one stops working)."""
    await service.resend_confirmation(runtime, session, user)
    return Accepted()


@router.post(
    "/api/auth/password/forgot",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    responses=THROTTLED,
)
async def forgot_password(
    data: EmailIn, request: Request, runtime: RuntimeDep, background: BackgroundTasks
) -> Accepted:
    """Mail a password-reset link; the answer is the same whether or not the account exists."""
    await runtime.limiter.hit(runtime.limits.forgot_ip, client_ip(request))
    await runtime.limiter.hit(runtime.limits.reset_mail, account_key(data.email))
    background.add_task(service.request_password_reset, runtime, data.email)
    return Accepted()


@router.post(
    "/api/auth/password/reset",
    status_code=NO_CONTENT,
    responses={400: {"description": "Invalid, used or expired token"}},
)
async def reset_password(
    data: PasswordResetIn, runtime: RuntimeDep, session: SessionDep
) -> Response:
    """Set a new password with the mailed token; every session ends (sign in again)."""
    await service.reset_password(runtime, session, data)
    return Response(status_code=NO_CONTENT)


@router.post(
    "/api/auth/password/change",
    status_code=NO_CONTENT,
    responses={422: {"description": "Wrong current password or weak new one"}, **THROTTLED},
)
async def change_password(
    data: PasswordChangeIn,
    user: CurrentUser,
    claims: ClaimsDep,
    runtime: RuntimeDep,
    session: SessionDep,
) -> Response:
    """Change the password; every other session is signed out."""
    await service.change_password(runtime, session, user, claims.session_id, data)
    return Response(status_code=NO_CONTENT)


@router.get("/api/users/me", response_model=UserPublic)
async def me(user: CurrentUser, runtime: RuntimeDep, session: SessionDep) -> UserPublic:
    """The signed-in user with their profile."""
    return await public_user(runtime, session, user)


@router.patch(
    "/api/users/me", response_model=UserPublic, responses={422: {"description": "Username taken"}}
)
async def update_me(
    data: UserUpdate, user: CurrentUser, runtime: RuntimeDep, session: SessionDep
) -> UserPublic:
    """Change the username."""
    await service.update_user(session, user, data)
    return await public_user(runtime, session, user)


@router.delete(
    "/api/users/me",
    status_code=NO_CONTENT,
    responses={422: {"description": "Wrong password"}, **THROTTLED},
)
async def delete_me(
    data: PasswordIn, user: CurrentUser, runtime: RuntimeDep, session: SessionDep
) -> Response:
    """Delete the account (the password is required); its dialogs are deleted too."""
    await service.delete_user(runtime, session, user, data.password)
    return Response(status_code=NO_CONTENT)
