"""argon2id password hashing (off the event loop, bounded concurrency) and the password rules.

Hashing is deliberately expensive (memory-hard); a semaphore keeps a burst of logins from
running more hashes at once than there are cores, and unknown emails are checked against a dummy
hash made with the same parameters, so they take as long as wrong passwords.

Rules (`check_password`): 8 to 1024 characters (the schemas enforce the length; nothing is ever
truncated or trimmed), not one of the ~20,000 most common passwords (the list ships in
`data/`), and not the account's own email, its local part or the username.
"""

from __future__ import annotations

import asyncio
import gzip
from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from kit.errors import FieldErrors


class Passwords:
    def __init__(
        self, *, memory_kib: int, time_cost: int, parallelism: int, concurrency: int
    ) -> None:
        self.hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism
        )
        self._slots = asyncio.Semaphore(concurrency)
        self._dummy = self.hasher.hash("parley-dummy-password")

    async def hash(self, password: str) -> str:
        async with self._slots:
            return await asyncio.to_thread(self.hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """True if `password` matches; a None hash (unknown user) costs the same and fails."""
        async with self._slots:
            return await asyncio.to_thread(self._verify, password_hash, password)

    def _verify(self, password_hash: str | None, password: str) -> bool:
        try:
            self.hasher.verify(password_hash or self._dummy, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return password_hash is not None

    def needs_rehash(self, password_hash: str) -> bool:
        """True if the hash was made with other parameters than the current ones."""
        try:
            return self.hasher.check_needs_rehash(password_hash)
        except (InvalidHashError, ValueError):
            return True


@cache
def common_passwords() -> frozenset[str]:
    data = resources.files("auth_service").joinpath("data/common-passwords.txt.gz").read_bytes()
    return frozenset(line.strip() for line in gzip.decompress(data).decode().splitlines() if line)


def is_common(password: str) -> bool:
    return password.strip().lower() in common_passwords()


def check_password(password: str, *, email: str, username: str, field: str = "password") -> None:
    """Refuse a common password or one that is the account's own email or username (422)."""
    lowered = password.strip().lower()
    if is_common(password):
        raise FieldErrors(
            {field: ["This password is too common; choose one that is harder to guess."]},
            code="password_too_common",
        )
    own = {email.lower(), email.lower().split("@", 1)[0], username.lower()}
    if lowered in own:
        raise FieldErrors(
            {field: ["The password must not be your email or username."]},
            code="password_too_similar",
        )
