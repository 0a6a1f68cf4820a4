"""Accounts: registration, login, email confirmation, password reset and change, the user itself.

Anything an outsider can ask about an email address (login, forgot-password) answers the same,
takes the same time and is throttled the same whether or not the account exists: unknown emails
are checked against a dummy hash, throttles are keyed by the address itself, and the reset mail is
prepared after the response has gone (`request_password_reset` runs as a background task).
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from prometheus_client import Counter
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from auth_service.accounts import repository as repo
from auth_service.accounts.schemas import (
    LoginIn,
    PasswordChangeIn,
    PasswordResetIn,
    RegisterIn,
    UserPublic,
    UserUpdate,
)
from auth_service.api_keys import service as api_keys
from auth_service.models import EmailToken, Profile, User
from auth_service.opaque import new_token, token_hash
from auth_service.passwords import Passwords, check_password
from auth_service.profiles.service import profile_public
from auth_service.ratelimit import account_key
from auth_service.runtime import Runtime
from auth_service.sessions import service as sessions
from kit import account_state, event_types
from kit.avatars.store import AvatarStore
from kit.db import after_commit, utcnow
from kit.errors import AppError, FieldErrors, Unauthorized
from kit.outbox import add_event
from kit.ratelimit import RateLimited

log = logging.getLogger(__name__)
LOGINS = Counter("parley_auth_logins_total", "Login attempts by result.", ["result"])
for _result in ("success", "failure", "rate_limited"):
    LOGINS.labels(_result)


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"

    def __init__(self) -> None:
        super().__init__("The email or password is wrong.")


class InvalidEmailToken(AppError):
    status_code = 400
    code = "invalid_token"

    def __init__(self) -> None:
        super().__init__("This link is invalid or has expired; ask for a new one.")


def user_public(user: User, profile: Profile, avatars: AvatarStore) -> UserPublic:
    return UserPublic(
        id=user.id,
        email=user.email,
        username=user.username,
        is_email_confirmed=user.is_email_confirmed,
        is_staff=user.is_staff,
        created_at=user.created_at,
        profile=profile_public(profile, avatars),
    )


def _identity(user: User) -> event_types.Identity:
    return event_types.identity(user.id, user.email, user.username)


# --- registration and confirmation -----------------------------------------------------------


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
    check_password(password, email=email, username=username)
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
            {"email": ["An account with this email or username already exists."]},
            code="email_taken",
        ) from None
    session.add(Profile(user_id=user.id))
    add_event(session, event_types.USER_REGISTERED, _identity(user))
    return user


async def request_confirmation(runtime: Runtime, session: AsyncSession, user: User) -> None:
    """A new confirmation link (earlier ones stop working), mailed through the outbox."""
    await _mail_token(
        runtime,
        session,
        user,
        purpose="confirm",
        lifetime=timedelta(hours=runtime.settings.confirm_token_hours),
        path="email-verify",
        event=event_types.EMAIL_CONFIRMATION_REQUESTED,
    )


async def _mail_token(
    runtime: Runtime,
    session: AsyncSession,
    user: User,
    *,
    purpose: str,
    lifetime: timedelta,
    path: str,
    event: str,
) -> None:
    await repo.invalidate_email_tokens(session, user.id, purpose)
    token = new_token()
    expires_at = utcnow() + lifetime
    session.add(
        EmailToken(
            token_hash=token_hash(token), user_id=user.id, purpose=purpose, expires_at=expires_at
        )
    )
    # PARLEY_PUBLIC_URL only: a Host header is the client's to choose.
    link = f"{runtime.settings.public_url.rstrip('/')}/{path}/{token}"
    add_event(session, event, event_types.link_mail(_identity(user), link, expires_at))


async def register(
    runtime: Runtime, session: AsyncSession, data: RegisterIn, *, user_agent: str, ip: str
) -> sessions.Issued:
    await runtime.limiter.hit(runtime.limits.register_ip, ip)
    user = await create_user(
        runtime.passwords, session, email=data.email, username=data.username, password=data.password
    )
    # the welcome confirmation mail counts towards the account's mail budget, but never blocks
    await runtime.limiter.hit(runtime.limits.confirm_mail, account_key(user.email), enforce=False)
    await request_confirmation(runtime, session, user)
    return await sessions.start_session(runtime, session, user, user_agent=user_agent, ip=ip)


async def resend_confirmation(runtime: Runtime, session: AsyncSession, user: User) -> None:
    if user.is_email_confirmed:
        return
    await runtime.limiter.hit(runtime.limits.confirm_mail, account_key(user.email))
    await request_confirmation(runtime, session, user)


async def confirm_email(runtime: Runtime, session: AsyncSession, token: str) -> User:
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
        add_event(session, event_types.EMAIL_CONFIRMED, _identity(user))
        user_id, ttl = user.id, account_state.ttl_seconds(runtime.settings.access_lifetime)

        async def publish() -> None:
            # the user's tokens signed before now still say unconfirmed: correct them at once
            await runtime.redis.set(account_state.email_confirmed_key(user_id), "1", ex=ttl)

        after_commit(session, publish)
    await session.flush()
    return user


# --- login and password checks ---------------------------------------------------------------


async def login(
    runtime: Runtime, session: AsyncSession, data: LoginIn, *, user_agent: str, ip: str
) -> sessions.Issued:
    try:
        await runtime.limiter.hit(runtime.limits.login_ip, ip)
        await runtime.login_throttle.check(account_key(data.email))
    except RateLimited:
        LOGINS.labels("rate_limited").inc()
        raise
    user = await repo.user_by_email(session, data.email)
    # always one argon2 verification: a dummy hash stands in for a missing account
    ok = await runtime.passwords.verify(user.password_hash if user else None, data.password)
    if user is None or not ok or not user.is_active:
        await runtime.login_throttle.failed(account_key(data.email))
        LOGINS.labels("failure").inc()
        raise InvalidCredentials()
    await runtime.login_throttle.clear(account_key(data.email))
    if runtime.passwords.needs_rehash(user.password_hash):
        # the cost parameters changed since this hash was made: upgrade it now we know the password
        user.password_hash = await runtime.passwords.hash(data.password)
    LOGINS.labels("success").inc()
    return await sessions.start_session(runtime, session, user, user_agent=user_agent, ip=ip)


async def check_current_password(runtime: Runtime, user: User, password: str, field: str) -> None:
    """Verify the signed-in user's password (throttled like a login); a wrong one is a 422."""
    account = account_key(user.email)
    await runtime.login_throttle.check(account)
    if not await runtime.passwords.verify(user.password_hash, password):
        await runtime.login_throttle.failed(account)
        raise FieldErrors({field: ["The password is wrong."]}, code="invalid_password")
    await runtime.login_throttle.clear(account)


# --- password reset and change ---------------------------------------------------------------


async def request_password_reset(runtime: Runtime, email: str) -> None:
    """Mail a reset link if the account exists; runs after the 202 has been sent."""
    try:
        async with runtime.db.session() as session:
            user = await repo.user_by_email(session, email)
            if user is None or not user.is_active:
                return
            await _mail_token(
                runtime,
                session,
                user,
                purpose="reset",
                lifetime=timedelta(minutes=runtime.settings.reset_token_minutes),
                path="password-reset",
                event=event_types.PASSWORD_RESET_REQUESTED,
            )
    except Exception:
        log.exception("preparing a password reset mail failed")


async def reset_password(runtime: Runtime, session: AsyncSession, data: PasswordResetIn) -> None:
    """Set a new password with a mailed token; every session ends and nobody is signed in."""
    now = utcnow()
    record = await repo.email_token(session, token_hash(data.token), "reset")
    if record is None or record.used_at is not None or record.expires_at <= now:
        raise InvalidEmailToken()
    user = await session.get(User, record.user_id)
    if user is None or not user.is_active:
        raise InvalidEmailToken()
    check_password(data.password, email=user.email, username=user.username)
    record.used_at = now
    await repo.invalidate_email_tokens(session, user.id, "reset")
    user.password_hash = await runtime.passwords.hash(data.password)
    user.is_email_confirmed = True  # the link reached the mailbox: the address is proven
    user.updated_at = now
    await sessions.revoke_sessions(
        runtime, session, await sessions.active_sessions(session, user.id)
    )
    add_event(session, event_types.PASSWORD_CHANGED, _identity(user))
    await session.flush()
    account = account_key(user.email)
    after_commit(session, lambda: runtime.login_throttle.clear(account))


async def change_password(
    runtime: Runtime,
    session: AsyncSession,
    user: User,
    current_session: uuid.UUID,
    data: PasswordChangeIn,
) -> None:
    """Replace the password; every other session ends, this one stays signed in."""
    await check_current_password(runtime, user, data.current_password, "current_password")
    check_password(
        data.new_password, email=user.email, username=user.username, field="new_password"
    )
    user.password_hash = await runtime.passwords.hash(data.new_password)
    user.updated_at = utcnow()
    others = [
        s for s in await sessions.active_sessions(session, user.id) if s.id != current_session
    ]
    await sessions.revoke_sessions(runtime, session, others)
    add_event(session, event_types.PASSWORD_CHANGED, _identity(user))
    await session.flush()


# --- the user itself -------------------------------------------------------------------------


async def update_user(session: AsyncSession, user: User, data: UserUpdate) -> User:
    if data.username is not None and data.username != user.username:
        other = await repo.user_by_username(session, data.username)
        if other is not None and other.id != user.id:
            raise FieldErrors({"username": ["This username is taken."]}, code="username_taken")
        user.username = data.username
        user.updated_at = utcnow()
        try:
            await session.flush()
        except IntegrityError:
            raise FieldErrors(
                {"username": ["This username is taken."]}, code="username_taken"
            ) from None
    return user


async def delete_user(runtime: Runtime, session: AsyncSession, user: User, password: str) -> None:
    """Delete the account and everything auth keeps about it; chat hears `auth.user_deleted`."""
    await check_current_password(runtime, user, password, "password")
    profile = await session.get(Profile, user.id)
    avatar = profile.avatar if profile else None
    await sessions.revoke_sessions(
        runtime, session, await sessions.active_sessions(session, user.id)
    )
    await api_keys.refuse_all(runtime, session, user.id)
    add_event(session, event_types.USER_DELETED, event_types.user_deleted(user.id))
    await session.flush()
    await session.delete(user)  # profile, sessions, refresh and email tokens cascade
    await session.flush()
    runtime.avatars.remove_after_commit(session, avatar)
