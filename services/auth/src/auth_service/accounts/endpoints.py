from __future__ import annotations

from fastapi import APIRouter, Request, status

from auth_service.accounts import repository as repo
from auth_service.accounts import service
from auth_service.accounts.schemas import LoginIn, RegisterIn, TokenIn, TokenPair, UserPublic
from auth_service.client import client_ip, user_agent
from auth_service.dependencies import CurrentUser, RuntimeDep, SessionDep
from auth_service.runtime import Runtime
from auth_service.sessions.service import Issued
from sqlmodel.ext.asyncio.session import AsyncSession

router = APIRouter()


async def token_pair(runtime: Runtime, session: AsyncSession, issued: Issued) -> TokenPair:
    profile = await repo.profile_of(session, issued.user.id)
    return TokenPair(
        access_token=issued.access_token,
        expires_in=int(runtime.settings.access_lifetime.total_seconds()),
        refresh_token=issued.refresh_token,
        user=service.user_public(issued.user, profile, runtime.settings.public_url),
    )


@router.post("/api/auth/register", status_code=status.HTTP_201_CREATED, response_model=TokenPair)
async def register(
    data: RegisterIn, request: Request, runtime: RuntimeDep, session: SessionDep
) -> TokenPair:
    """Create an account and sign it in; a confirmation mail is sent."""
    issued = await service.register(
        runtime, session, data, user_agent=user_agent(request), ip=client_ip(request)
    )
    return await token_pair(runtime, session, issued)


@router.post("/api/auth/login", response_model=TokenPair)
async def login(
    data: LoginIn, request: Request, runtime: RuntimeDep, session: SessionDep
) -> TokenPair:
    """Sign in with email and password."""
    issued = await service.login(
        runtime, session, data, user_agent=user_agent(request), ip=client_ip(request)
    )
    return await token_pair(runtime, session, issued)


@router.post("/api/auth/email/confirm", response_model=UserPublic)
async def confirm_email(data: TokenIn, runtime: RuntimeDep, session: SessionDep) -> UserPublic:
    """Confirm the email address with the token from the mailed link."""
    user = await service.confirm_email(session, data.token)
    profile = await repo.profile_of(session, user.id)
    return service.user_public(user, profile, runtime.settings.public_url)


@router.post("/api/auth/email/resend", status_code=status.HTTP_202_ACCEPTED)
async def resend_confirmation(
    user: CurrentUser, runtime: RuntimeDep, session: SessionDep
) -> dict[str, str]:
    """Mail a new confirmation link (the previous one stops working)."""
    if not user.is_email_confirmed:
        await service.request_confirmation(runtime, session, user)
    return {"status": "accepted"}


@router.get("/api/users/me", response_model=UserPublic)
async def me(user: CurrentUser, runtime: RuntimeDep, session: SessionDep) -> UserPublic:
    """The signed-in user with their profile."""
    profile = await repo.profile_of(session, user.id)
    return service.user_public(user, profile, runtime.settings.public_url)
