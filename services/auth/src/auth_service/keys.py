"""The access-token signing keys (Ed25519), kept as PEM files in a directory.

Rotation, with no token refused along the way:

1. `KeyRing.rotate()` (or `python -m auth_service.keys rotate`) writes a new key file. Every auth
   process sees it within `reload_seconds` and publishes it in the JWKS at once.
2. The new key starts signing only `activation_seconds` (default 60) after it was written, so
   the gateway and chat, which refetch the JWKS when they meet an unknown `kid`, already find it.
3. Older keys keep verifying as long as their file exists. Once the new key has signed for
   longer than an access token lives, `KeyRing.retire()` (`python -m auth_service.keys retire`)
   deletes the keys nobody can hold a valid token of any more.

To withdraw a compromised key at once, delete its file and restart auth, the gateway and chat
(verifiers cache the public keys they have seen). A missing directory gets a fresh key on first
start. Files are named `signing-<unix ns>.pem`; the newest active one signs.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kit import jwt as kjwt

_NAME = re.compile(r"^signing-(\d+)\.pem$")


@dataclass(frozen=True)
class SigningKey:
    path: Path
    created_ns: int
    key: Ed25519PrivateKey

    @property
    def kid(self) -> str:
        return kjwt.key_id(self.key.public_key())


class KeyRing:
    def __init__(
        self, directory: Path, *, activation_seconds: float = 60.0, reload_seconds: float = 10.0
    ) -> None:
        self.directory = directory
        self.activation_ns = int(activation_seconds * 1e9)
        self.reload_seconds = reload_seconds
        self.keys: list[SigningKey] = []  # oldest first
        self._scanned_at = float("-inf")

    # --- loading -------------------------------------------------------------------------------

    def load(self, *, create: bool = True) -> KeyRing:
        if not self._files():
            if not create:
                raise FileNotFoundError(f"no signing key in {self.directory}")
            self._write_key()
        self._scan()
        return self

    def _files(self) -> dict[Path, int]:
        if not self.directory.is_dir():
            return {}
        found = {}
        for path in self.directory.iterdir():
            if match := _NAME.match(path.name):
                found[path] = int(match.group(1))
        return found

    def _scan(self) -> None:
        known = {k.path: k for k in self.keys}
        keys = [
            known.get(path) or SigningKey(path, created, kjwt.load_private_key(path.read_bytes()))
            for path, created in self._files().items()
        ]
        if not keys:
            raise FileNotFoundError(f"no signing key in {self.directory}")
        self.keys = sorted(keys, key=lambda k: k.created_ns)
        self._scanned_at = time.monotonic()

    def _fresh(self) -> None:
        if time.monotonic() - self._scanned_at >= self.reload_seconds:
            self._scan()

    # --- use -----------------------------------------------------------------------------------

    def _signing_key(self, now_ns: int | None = None) -> SigningKey:
        now_ns = time.time_ns() if now_ns is None else now_ns
        active = [k for k in self.keys if k.created_ns + self.activation_ns <= now_ns]
        # Before any key is old enough (a fresh install), the oldest one signs.
        return active[-1] if active else self.keys[0]

    @property
    def signing(self) -> Ed25519PrivateKey:
        """The key that signs new access tokens."""
        self._fresh()
        return self._signing_key().key

    @property
    def verifying(self) -> list[Ed25519PrivateKey]:
        self._fresh()
        return [k.key for k in self.keys]

    def jwks(self) -> dict[str, Any]:
        """Every key still present, the ones not signing yet included."""
        return {"keys": [kjwt.public_jwk(key.public_key()) for key in self.verifying]}

    # --- rotation ------------------------------------------------------------------------------

    def _write_key(self) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.directory / f"signing-{time.time_ns()}.pem"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(kjwt.private_key_pem(kjwt.generate_private_key()))
        tmp.chmod(0o600)
        tmp.replace(path)  # other processes never see a half-written key
        return path

    def rotate(self) -> Path:
        """Add a new key: published at once, signing after the activation delay."""
        path = self._write_key()
        self._scan()
        return path

    def retire(self, token_lifetime: timedelta) -> list[Path]:
        """Delete the keys replaced longer than `token_lifetime` ago (their tokens have expired)."""
        self._scan()
        now_ns = time.time_ns()
        lifetime_ns = int(token_lifetime.total_seconds() * 1e9)
        current = self._signing_key(now_ns)
        removed: list[Path] = []
        for older, newer in zip(self.keys, self.keys[1:], strict=False):
            replaced_at = newer.created_ns + self.activation_ns
            if older is not current and replaced_at + lifetime_ns <= now_ns:
                older.path.unlink(missing_ok=True)
                removed.append(older.path)
        self._scan()
        return removed


def main(argv: list[str] | None = None) -> int:
    """`python -m auth_service.keys rotate | retire | list` against the configured key directory."""
    from auth_service.config import Settings

    parser = argparse.ArgumentParser(prog="python -m auth_service.keys", description=__doc__)
    parser.add_argument("command", choices=["rotate", "retire", "list"])
    args = parser.parse_args(argv)
    config = Settings()
    ring = KeyRing(config.signing_keys_dir, activation_seconds=config.key_activation_seconds)
    ring.load()
    if args.command == "rotate":
        path = ring.rotate()
        print(f"new signing key {path.name}; it signs in {config.key_activation_seconds:g} s")
    elif args.command == "retire":
        # a minute of slack over the token lifetime covers clock leeway
        removed = ring.retire(config.access_lifetime + timedelta(minutes=1))
        print(f"removed {len(removed)} key(s)" + "".join(f"\n  {p.name}" for p in removed))
    else:
        signing = ring._signing_key()
        for key in ring.keys:
            mark = "signing" if key is signing else "verifying"
            print(f"{key.path.name}  kid={key.kid}  {mark}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
