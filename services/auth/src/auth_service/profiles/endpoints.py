from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, UploadFile
from fastapi.responses import FileResponse

from auth_service.accounts.schemas import ProfilePublic
from auth_service.dependencies import CurrentUser, RuntimeDep, SessionDep
from auth_service.profiles import service
from auth_service.profiles.schemas import ProfileUpdate
from kit.avatars.store import AVATAR_HEADERS
from kit.dependencies import costly_write
from kit.errors import NotFound

router = APIRouter()


AVATAR_PATH = "/api/users/me/avatar"


def is_avatar_upload(method: str, path: str) -> bool:
    return method == "PUT" and path == AVATAR_PATH


@router.get("/api/users/me/profile", response_model=ProfilePublic)
async def get_profile(user: CurrentUser, runtime: RuntimeDep, session: SessionDep) -> ProfilePublic:
    """The signed-in user's profile."""
    profile = await service.profile_of(session, user)
    return service.profile_public(profile, runtime.avatars)


@router.patch("/api/users/me/profile", response_model=ProfilePublic)
async def update_profile(
    data: ProfileUpdate, user: CurrentUser, runtime: RuntimeDep, session: SessionDep
) -> ProfilePublic:
    """Change first and last name (each at most 32 characters)."""
    profile = await service.update_profile(session, user, data)
    return service.profile_public(profile, runtime.avatars)


@router.put(
    "/api/users/me/avatar",
    response_model=ProfilePublic,
    responses={413: {"description": "The file is over 5 MB"}, 422: {"description": "Not an image"}},
    dependencies=[costly_write("avatars")],
)
async def put_avatar(
    file: Annotated[UploadFile, File(description="A JPEG, PNG or WebP image, at most 5 MB")],
    user: CurrentUser,
    runtime: RuntimeDep,
    session: SessionDep,
) -> ProfilePublic:
    """Upload a new avatar; it is re-encoded as a 512 px WebP plus a 128 px thumbnail."""
    data = await file.read(runtime.settings.avatar_max_bytes + 1)
    profile = await service.set_avatar(runtime, session, user, data)
    return service.profile_public(profile, runtime.avatars)


@router.delete("/api/users/me/avatar", response_model=ProfilePublic)
async def delete_avatar(
    user: CurrentUser, runtime: RuntimeDep, session: SessionDep
) -> ProfilePublic:
    """Remove the avatar."""
    profile = await service.remove_avatar(runtime, session, user)
    return service.profile_public(profile, runtime.avatars)


@router.get(
    "/api/avatars/{name}",
    response_class=FileResponse,
    responses={200: {"content": {"image/webp": {}}}, 404: {"description": "No such avatar"}},
)
async def get_avatar(name: str, runtime: RuntimeDep) -> FileResponse:
    """An avatar image (`<name>.webp`, 512 px) or its thumbnail (`<name>-128.webp`)."""
    path = runtime.avatars.path(name)
    if path is None:
        raise NotFound("No such avatar.")
    return FileResponse(path, media_type="image/webp", headers=AVATAR_HEADERS)
