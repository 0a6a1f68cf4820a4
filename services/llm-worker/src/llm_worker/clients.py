"""The llm-worker's composition root: the clients every job shares, built once per process.

They are built before the first job (`warm_up`, at worker ready): hundreds of threads racing to
build them (each loading TLS certificates) would otherwise stall the first answers.
"""

from __future__ import annotations

from functools import cache

import httpx2
import openai
from redis import Redis

from kit.health import SyncCheck
from kit.providers import Providers
from kit.redis_clients import sync_redis
from llm_worker.chat_client import ChatClient
from llm_worker.config import settings
from llm_worker.inflight import InFlight


@cache
def providers() -> Providers:
    return settings.providers()


@cache
def llm(provider_name: str) -> openai.OpenAI | None:
    """The client of a provider; None for a name this worker's providers file does not have."""
    provider = providers().get(provider_name)
    if provider is None:
        return None
    # the SDK is built on httpx2: its own client class, sized for every generation at once
    timeout = httpx2.Timeout(settings.llm_timeout, connect=10.0)
    return openai.OpenAI(
        api_key=provider.api_key() or "not-needed",
        base_url=provider.base_url,
        max_retries=0,
        timeout=timeout,
        http_client=openai.DefaultHttpxClient(
            timeout=timeout,
            limits=httpx2.Limits(
                max_connections=settings.concurrency + 10, max_keepalive_connections=100
            ),
        ),
    )


@cache
def chat() -> ChatClient:
    return ChatClient(settings.chat_url, settings.internal_token)


@cache
def redis() -> Redis:
    return sync_redis(settings.redis_url, health_check_interval=30)


@cache
def inflight() -> InFlight:
    return InFlight(redis())


def warm_up() -> None:
    for provider in providers().all:
        llm(provider.name)
    chat()
    inflight()


def readiness_checks() -> dict[str, SyncCheck]:
    return {"redis": redis().ping}
