"""Profiles: names and the avatar. Image work runs in threads, a few at a time."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from auth_service.accounts.schemas import ProfilePublic
from auth_service.models import Profile, User
from auth_service.profiles.schemas import ProfileUpdate
from auth_service.runtime import Runtime
from kit.avatars.store import AvatarStore
from kit.db import utcnow


def profile_public(profile: Profile, avatars: AvatarStore) -> ProfilePublic:
    return ProfilePublic(
        first_name=profile.first_name,
        last_name=profile.last_name,
        avatar_url=avatars.url(profile.avatar),
    )


async def profile_of(session: AsyncSession, user: User) -> Profile:
    profile = await session.get(Profile, user.id)
    if profile is None:  # every user gets one at registration; heal a missing row anyway
        profile = Profile(user_id=user.id)
        session.add(profile)
        await session.flush()
    return profile


async def update_profile(session: AsyncSession, user: User, data: ProfileUpdate) -> Profile:
    profile = await profile_of(session, user)
    if data.first_name is not None:
        profile.first_name = data.first_name
    if data.last_name is not None:
        profile.last_name = data.last_name
    user.updated_at = utcnow()
    await session.flush()
    return profile


async def set_avatar(runtime: Runtime, session: AsyncSession, user: User, data: bytes) -> Profile:
    name = await runtime.avatars.accept(data)
    profile = await profile_of(session, user)
    old, profile.avatar = profile.avatar, name
    user.updated_at = utcnow()
    await session.flush()
    runtime.avatars.remove_after_commit(session, old)
    return profile


async def remove_avatar(runtime: Runtime, session: AsyncSession, user: User) -> Profile:
    profile = await profile_of(session, user)
    old, profile.avatar = profile.avatar, None
    user.updated_at = utcnow()
    await session.flush()
    runtime.avatars.remove_after_commit(session, old)
    return profile
