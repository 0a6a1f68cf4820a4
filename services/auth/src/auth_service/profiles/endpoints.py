from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, UploadFile
from fastapi.responses import FileResponse
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from auth_service.accounts.schemas import ProfilePublic
from auth_service.dependencies import CurrentUser, RuntimeDep, SessionDep
from auth_service.profiles import service
from auth_service.profiles.schemas import ProfileUpdate
from kit.dependencies import costly_write
from kit.errors import NotFound, problem

router = APIRouter()

AVATAR_HEADERS = {
    "Cache-Control": "public, max-age=31536000, immutable",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cross-Origin-Resource-Policy": "same-site",
}
# Room for the multipart envelope around the largest file allowed (its part headers, boundary)
MULTIPART_ENVELOPE = 64 * 1024


AVATAR_PATH = "/api/users/me/avatar"


class UploadLimit:
    """Refuse an oversized avatar upload from its Content-Length, before a byte of it is read.

    An ASGI layer, not a dependency: FastAPI parses (and spools) a form body before it runs
    the route's dependencies, so a check there would come after the upload.
    """

    def __init__(self, app: ASGIApp, *, max_file_bytes: int) -> None:
        self.app = app
        self.limit = max_file_bytes + MULTIPART_ENVELOPE

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == AVATAR_PATH and scope["method"] == "PUT":
            declared = Headers(scope=scope).get("content-length", "")
            if not declared.isdigit() or int(declared) > self.limit:
                response = problem(
                    413,
                    "payload_too_large",
                    f"Send the image as a multipart body of at most {self.limit} bytes.",
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


@router.get("/api/users/me/profile", response_model=ProfilePublic)
async def get_profile(user: CurrentUser, runtime: RuntimeDep, session: SessionDep) -> ProfilePublic:
    """The signed-in user's profile."""
    profile = await service.profile_of(session, user)
    return service.profile_public(profile, runtime.settings.public_url)


@router.patch("/api/users/me/profile", response_model=ProfilePublic)
async def update_profile(
    data: ProfileUpdate, user: CurrentUser, runtime: RuntimeDep, session: SessionDep
) -> ProfilePublic:
    """Change first and last name (each at most 32 characters)."""
    profile = await service.update_profile(session, user, data)
    return service.profile_public(profile, runtime.settings.public_url)


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
    return service.profile_public(profile, runtime.settings.public_url)


@router.delete("/api/users/me/avatar", response_model=ProfilePublic)
async def delete_avatar(
    user: CurrentUser, runtime: RuntimeDep, session: SessionDep
) -> ProfilePublic:
    """Remove the avatar."""
    profile = await service.remove_avatar(runtime, session, user)
    return service.profile_public(profile, runtime.settings.public_url)


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
