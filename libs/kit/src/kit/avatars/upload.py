"""An avatar upload refused by its size before a byte of it is read, and the error for an
unusable image."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from kit.errors import AppError, problem

# Room for the multipart envelope around the largest file allowed (its part headers, boundary)
MULTIPART_ENVELOPE = 64 * 1024


class AvatarRejected(AppError):
    """The upload is not a usable JPEG, PNG or WebP image (422, named under `file`)."""

    status_code = 422
    code = "invalid_image"

    def __init__(self, message: str, *, code: str | None = None, status_code: int | None = None):
        super().__init__(message, code=code, status_code=status_code)

    def extra(self) -> dict[str, Any]:
        return {"errors": {"file": [self.message]}}


class UploadLimit:
    """Refuse an oversized avatar upload from its Content-Length, before a byte of it is read.

    An ASGI layer, not a dependency: FastAPI parses (and spools) a form body before it runs
    the route's dependencies, so a check there would come after the upload. `is_upload(method,
    path)` says which requests are avatar uploads.
    """

    def __init__(
        self, app: ASGIApp, *, max_file_bytes: int, is_upload: Callable[[str, str], bool]
    ) -> None:
        self.app = app
        self.limit = max_file_bytes + MULTIPART_ENVELOPE
        self.is_upload = is_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.is_upload(scope["method"], scope["path"]):
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
