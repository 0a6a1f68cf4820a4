"""Avatar files on disk: `<name>.webp` (512 px) and `<name>-128.webp`, under generated names.

Names are 128 random bits, so they cannot be guessed or collide, and a client never chooses a
path. Files are written atomically (temporary file, then rename) and never change: a new avatar
gets a new name, which lets them be cached for a year.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

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
    def __init__(self, directory: Path) -> None:
        self.directory = directory

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
