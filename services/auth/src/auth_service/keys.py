"""The access-token signing keys, kept as PEM files in a directory.

The newest file signs; every file still present verifies (so after a rotation, tokens signed by
the old key stay valid until they expire, then the old file can be removed). A missing directory
gets a fresh key on first start.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kit import jwt as kjwt


class KeyRing:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.signing: Ed25519PrivateKey
        self.verifying: list[Ed25519PrivateKey] = []

    def load(self, *, create: bool = True) -> KeyRing:
        files = sorted(self.directory.glob("signing-*.pem"))
        if not files:
            if not create:
                raise FileNotFoundError(f"no signing key in {self.directory}")
            files = [self.rotate()]
        self.verifying = [kjwt.load_private_key(path.read_bytes()) for path in files]
        self.signing = self.verifying[-1]
        return self

    def rotate(self) -> Path:
        """Write a new key that signs from the next load on."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.directory / f"signing-{time.time_ns()}.pem"
        path.write_bytes(kjwt.private_key_pem(kjwt.generate_private_key()))
        path.chmod(0o600)
        return path

    def jwks(self) -> dict[str, Any]:
        return {"keys": [kjwt.public_jwk(key.public_key()) for key in self.verifying]}
