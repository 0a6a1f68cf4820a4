"""API keys as both sides see them (docs/DESIGN.md §11): auth issues and stores them, the
gateway trades them for short-lived access tokens.

A key is `pk_` and 40 random base62 characters (238 bits), so a SHA-256 of it is a safe lookup
hash (no salt or slow hash is needed for a secret nobody chose). The first `PREFIX_LENGTH`
characters are kept readable to tell keys apart.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string

from kit.errors import Unauthorized

PREFIX = "pk_"
PREFIX_LENGTH = 10  # "pk_" and 7 characters
_ALPHABET = string.ascii_letters + string.digits
_SHAPE = re.compile(r"^pk_[A-Za-z0-9]{32,64}$")


class InvalidApiKey(Unauthorized):
    code = "invalid_api_key"

    def __init__(self, message: str = "This API key is unknown, revoked or expired.") -> None:
        super().__init__(message)


def new_key() -> str:
    return PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(40))


def is_api_key(token: str) -> bool:
    """True for anything that claims to be a key (it is then checked as one, never as a JWT)."""
    return token.startswith(PREFIX)


def well_formed(key: str) -> bool:
    return _SHAPE.fullmatch(key) is not None


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
