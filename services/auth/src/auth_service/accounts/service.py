"""Accounts: registration, login, email confirmation."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client import Counter
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from auth_service.accounts import repository as repo
from auth_service.accounts.schemas import LoginIn, ProfilePublic, RegisterIn, UserPublic
from auth_service.models import EmailToken, Profile, User
from auth_service.opaque import new_token, token_hash
from auth_service.passwords import Passwords
from auth_service.runtime import Runtime
from auth_service.sessions import service as sessions
from kit.db import utcnow
from kit.errors import AppError, FieldErrors, Unauthorized
from kit.outbox import add_event

LOGINS = Counter("parley_auth_logins_total", "Login attempts by result.", ["result"])


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"

    def __init__(self) -> None:
        super().__init__("The email or password is wrong.")


class InvalidEmailToken(AppError):
    status_code = 400
    code = "invalid_token"

    def __init__(self) -> None:
        super().__init__("This link is invalid or has expired; ask for a new one.")


def user_public(user: User, profile: Profile, public_url: str) -> UserPublic:
    avatar_url = f"{public_url.rstrip('/')}/api/avatars/{profile.avatar}" if profile.avatar else None
    return UserPublic(
        id=user.id,
        email=user.email,
        username=user.username,
        is_email_confirmed=user.is_email_confirmed,
        is_staff=user.is_staff,
        created_at=user.created_at,
        profile=ProfilePublic(
            first_name=profile.first_name, last_name=profile.last_name, avatar_url=avatar_url
        ),
    )


async def create_user(
    passwords: Passwords,
    session: AsyncSession,
    *,
    email: str,
    username: str,
    password: str,
    is_staff: bool = False,
    is_email_confirmed: bool = False,
) -> User:
    """A user with its profile, in the caller's transaction; taken fields are 422 errors."""
    taken: dict[str, list[str]] = {}
    if await repo.user_by_email(session, email):
        taken["email"] = ["An account with this email already exists."]
    if await repo.user_by_username(session, username):
        taken["username"] = ["This username is taken."]
    if taken:
        raise FieldErrors(taken, code="email_taken" if "email" in taken else "username_taken")
    user = User(
        email=email,
        username=username,
        password_hash=await passwords.hash(password),
        is_staff=is_staff,
        is_email_confirmed=is_email_confirmed,
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:
        # a concurrent registration won the race for the same email or username
        raise FieldErrors(
            {"email": ["An account with this email or username already exists."]}, code="email_taken"
        ) from None
    session.add(Profile(user_id=user.id))
    add_event(
        session,
        "auth.user_registered",
        {"user_id": str(user.id), "email": user.email, "username": user.username},
    )
    return user


async def request_confirmation(runtime: Runtime, session: AsyncSession, user: User) -> None:
    await repo.invalidate_email_tokens(session, user.id, "confirm")
    token = new_token()
    expires_at = utcnow() + timedelta(hours=runtime.settings.confirm_token_hours)
    session.add(
        EmailToken(token_hash=token_hash(token), user_id=user.id, purpose="confirm", expires_at=expires_at)
    )
    link = f"{runtime.settings.public_url.rstrip('/')}/email-verify/{token}"
    add_event(
        session,
        "auth.email_confirmation_requested",
        {
            "user_id": str(user.id),
            "email": user.email,
            "username": user.username,
            "link": link,
            "expires_at": expires_at.isoformat(),
        },
    )


async def register(
    runtime: Runtime, session: AsyncSession, data: RegisterIn, *, user_agent: str, ip: str
) -> sessions.Issued:
    user = await create_user(
        runtime.passwords, session, email=data.email, username=data.username, password=data.password
    )
    await request_confirmation(runtime, session, user)
    return await sessions.start_session(runtime, session, user, user_agent=user_agent, ip=ip)


async def login(
    runtime: Runtime, session: AsyncSession, data: LoginIn, *, user_agent: str, ip: str
) -> sessions.Issued:
    user = await repo.user_by_email(session, data.email)
    ok = await runtime.passwords.verify(user.password_hash if user else None, data.password)
    if user is None or not ok or not user.is_active:
        LOGINS.labels("failure").inc()
        raise InvalidCredentials()
    if runtime.passwords.needs_rehash(user.password_hash):
        user.password_hash = await runtime.passwords.hash(data.password)
    LOGINS.labels("success").inc()
    return await sessions.start_session(runtime, session, user, user_agent=user_agent, ip=ip)


async def confirm_email(session: AsyncSession, token: str) -> User:
    now = utcnow()
    record = await repo.email_token(session, token_hash(token), "confirm")
    if record is None or record.used_at is not None or record.expires_at <= now:
        raise InvalidEmailToken()
    user = await session.get(User, record.user_id)
    if user is None or not user.is_active:
        raise InvalidEmailToken()
    record.used_at = now
    if not user.is_email_confirmed:
        user.is_email_confirmed = True
        user.updated_at = now
        add_event(
            session,
            "auth.email_confirmed",
            {"user_id": str(user.id), "email": user.email, "username": user.username},
        )
    await session.flush()
    return user
