"""The process-wide objects of the chat service, built once in `main.lifespan`."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from redis.asyncio import Redis

from chat_service.catalog.service import ModelCatalog
from chat_service.config import Settings
from chat_service.messages.answering.hub import AnswerHub
from chat_service.messages.answering.queue import JobQueue
from kit.avatars.store import AvatarStore
from kit.db import Database
from kit.jwt import JWKSVerifier
from kit.ratelimit import Limit, RateLimiter


@dataclass
class Runtime:
    settings: Settings
    db: Database
    redis: Redis
    hub: AnswerHub  # what the answer streams wait on
    http: httpx.AsyncClient
    verifier: JWKSVerifier
    jobs: JobQueue
    catalog: ModelCatalog
    avatars: AvatarStore  # agents' avatars
    limiter: RateLimiter
    write_limits: dict[str, Limit]  # per-user limits on costly writes
