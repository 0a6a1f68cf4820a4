"""Avatar files on disk: `<name>.webp` (512 px) and `<name>-128.webp`, under generated names.

Names are 128 random bits, so they cannot be guessed or collide, and a client never chooses a
path. Files are written atomically (temporary file, then rename) and never change: a new avatar
gets a new name, which lets them be cached for a year.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
from pathlib import Path

from sqlmodel.ext.asyncio.session import AsyncSession

from kit.avatars import images
from kit.avatars.upload import AvatarRejected
from kit.db import after_commit

_FILE = re.compile(r"^[A-Za-z0-9_-]{22}(-128)?\.webp$")
THUMBNAIL_SUFFIX = "-128.webp"
# an avatar is served cached for a year (its name never changes), never sniffed or run
AVATAR_HEADERS = {
    "Cache-Control": "public, max-age=31536000, immutable",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cross-Origin-Resource-Policy": "same-site",
}


class AvatarStore:
    """A service's avatars: stored in `directory`, served at `route` (e.g. `/api/avatars`)."""

    def __init__(
        self,
        directory: Path,
        *,
        route: str,
        public_url: str,
        max_bytes: int,
        max_pixels: int,
        concurrency: int,
    ) -> None:
        self.directory = directory
        self.route = route.rstrip("/")
        self.public_url = public_url.rstrip("/")
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels
        self._slots = asyncio.Semaphore(concurrency)  # decoding is CPU-bound: a few at a time

    def url(self, name: str | None) -> str | None:
        """Where an avatar is served (absolute, from PARLEY_PUBLIC_URL); None for none."""
        return f"{self.public_url}{self.route}/{name}" if name else None

    async def accept(self, data: bytes) -> str:
        """Store an uploaded image as an avatar (two sizes, re-encoded); its new name. A file
        past `max_bytes` is a 413, anything not a usable image a 422."""
        if len(data) > self.max_bytes:
            raise AvatarRejected(
                f"The image is larger than {self.max_bytes // (1024 * 1024)} MB.",
                code="avatar_too_large",
                status_code=413,
            )
        try:
            async with self._slots:
                processed = await asyncio.to_thread(
                    images.process, data, max_pixels=self.max_pixels
                )
        except images.InvalidImage as exc:
            raise AvatarRejected(exc.message, code=exc.code) from None
        name = self.new_name()
        await asyncio.to_thread(self.save, name, processed.large, processed.small)
        return name

    def remove_after_commit(self, session: AsyncSession, name: str | None) -> None:
        """Delete a replaced or removed avatar once the change that dropped it is durable."""
        after_commit(session, lambda: self.remove(name))

    @staticmethod
    def new_name() -> str:
        """A fresh file name for the large image; the thumbnail adds `-128`."""
        return f"{secrets.token_urlsafe(16)}.webp"

    @staticmethod
    def thumbnail_of(name: str) -> str:
        return name.removesuffix(".webp") + THUMBNAIL_SUFFIX

    def save(self, name: str, large: bytes, small: bytes) -> None:
        """Write both files (blocking: call it in a thread)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        for filename, data in ((name, large), (self.thumbnail_of(name), small)):
            path = self.directory / filename
            tmp = path.with_name(f".{filename}.{secrets.token_hex(4)}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)

    def remove(self, name: str | None) -> None:
        """Delete an avatar and its thumbnail (blocking, quick); unknown names are ignored."""
        if not name or not _FILE.match(name):
            return
        for filename in (name, self.thumbnail_of(name)):
            (self.directory / filename).unlink(missing_ok=True)

    def path(self, filename: str) -> Path | None:
        """The file for a public name, or None if the name is malformed or unknown."""
        if not _FILE.match(filename):
            return None
        path = self.directory / filename
        return path if path.is_file() else None
