"""The process-wide objects of the auth service, built once in `main.lifespan`."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from auth_service.config import Settings
from auth_service.keys import KeyRing
from auth_service.passwords import Passwords
from kit.db import Database
from kit.jwt import JWKSVerifier
from kit.outbox import OutboxRelay


@dataclass
class Runtime:
    settings: Settings
    db: Database
    redis: Redis
    relay: OutboxRelay
    keys: KeyRing
    passwords: Passwords
    verifier: JWKSVerifier
