"""The chat service: dialogs, messages and answers (docs/DESIGN.md §2, §4)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI

from chat_service import account_events
from chat_service.agents import endpoints as agents
from chat_service.catalog import endpoints as catalog
from chat_service.catalog.service import ModelCatalog
from chat_service.config import Settings, settings
from chat_service.dialogs import endpoints as dialogs
from chat_service.dialogs import events as dialog_events
from chat_service.messages import endpoints as messages
from chat_service.messages import generation
from chat_service.messages.answering import sse
from chat_service.messages.answering.hub import AnswerHub
from chat_service.messages.answering.queue import JobQueue
from chat_service.openai_api import (
    conversations,
    response_endpoints,
)
from chat_service.openai_api import endpoints as openai_endpoints
from chat_service.openai_api import (
    webhook_endpoints as openai_webhooks,
)
from chat_service.runtime import Runtime
from chat_service.usage import endpoints as usage_endpoints
from chat_service.webhooks import WEBHOOK_QUEUE
from chat_service.webhooks import endpoints as webhook_endpoints
from chat_service.workspaces import endpoints as workspaces
from kit.app import create_app
from kit.avatars.store import AvatarStore
from kit.avatars.upload import UploadLimit
from kit.db import Database
from kit.jwt import JWKSSource, JWKSVerifier, http_jwks
from kit.logging import configure_logging
from kit.migrations import upgrade_async
from kit.outbox import OutboxRelay
from kit.providers import exit_on_bad_providers_file
from kit.queue_metrics import watch_queues
from kit.ratelimit import RateLimiter, write_limits
from kit.redis_clients import async_redis

MIGRATIONS = Path(__file__).parent / "migrations"
log = logging.getLogger(__name__)


def build_app(config: Settings = settings, *, jwks_source: JWKSSource | None = None) -> FastAPI:
    """The chat app; tests may pass their own `jwks_source` instead of asking auth. A providers
    file that cannot be used raises `ProvidersFileError` here, before anything starts."""
    providers = config.providers()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await upgrade_async(config.database_url, MIGRATIONS)
        db = Database(config.database_url)
        redis = async_redis(config.redis_url)
        hub = AnswerHub(redis, config.redis_url, config.sse_ping_seconds)
        http = httpx.AsyncClient(timeout=10)
        jobs = JobQueue(
            config.broker_url,
            visibility_timeout=config.task_visibility_timeout,
            queues=providers.queues(),
        )
        app.state.runtime = Runtime(
            settings=config,
            db=db,
            redis=redis,
            hub=hub,
            http=http,
            verifier=JWKSVerifier(
                jwks_source or http_jwks(config.jwks_url, http),
                issuer=config.jwt_issuer,
                audience=config.jwt_audience,
            ),
            jobs=jobs,
            catalog=ModelCatalog(config, providers, http),
            avatars=AvatarStore(
                config.agent_avatars_dir,
                route="/api/agents/avatars",
                public_url=config.public_url,
                max_bytes=config.avatar_max_bytes,
                max_pixels=config.avatar_max_pixels,
                concurrency=config.image_concurrency,
            ),
            limiter=RateLimiter(redis),
            write_limits=write_limits(config),
        )
        app.state.checks = {
            "database": db.ping,
            "redis": redis.ping,
            "broker": lambda: asyncio.to_thread(jobs.ping),
        }
        watch_queues(config.broker_url, [*providers.queues(), WEBHOOK_QUEUE])
        relay = OutboxRelay(db, config.broker_url, service="chat")
        consumer = account_events.consumer(app.state.runtime, asyncio.get_running_loop())
        consumer.start()
        relay.start()
        stopping = asyncio.Event()
        reaping = asyncio.create_task(reaper(app.state.runtime, stopping), name="reaper")
        warming = asyncio.create_task(jobs.warm_up(), name="warm-up sending")
        try:
            yield
        finally:
            # background work stops between database sessions, never inside one
            stopping.set()
            await reaping
            await warming
            await relay.stop()
            await asyncio.to_thread(consumer.stop)
            await http.aclose()
            await hub.close()
            await redis.aclose()
            await db.dispose()

    app = create_app(service="chat", title="Parley chat", lifespan=lifespan)
    app.add_middleware(
        UploadLimit, max_file_bytes=config.avatar_max_bytes, is_upload=agents.is_avatar_upload
    )
    app.include_router(dialogs.router)
    app.include_router(messages.router)
    app.include_router(sse.router)
    app.include_router(messages.internal)
    app.include_router(catalog.router)
    app.include_router(agents.router)
    app.include_router(webhook_endpoints.router)
    app.include_router(usage_endpoints.router)
    app.include_router(dialog_events.router)
    app.include_router(workspaces.router)
    app.include_router(workspaces.accepting)
    app.include_router(openai_endpoints.router)
    app.include_router(response_endpoints.router)
    app.include_router(conversations.router)
    app.include_router(openai_webhooks.router)
    return app


async def reaper(runtime: Runtime, stopping: asyncio.Event) -> None:
    """Queue again lost answer jobs, fail answers whose worker died and was not replaced (see
    `messages.generation.sweep`)."""
    while True:
        try:
            await asyncio.wait_for(stopping.wait(), runtime.settings.reaper_interval_seconds)
            return
        except TimeoutError:
            pass
        try:
            async with runtime.db.session() as session:
                requeued, failed = await generation.sweep(runtime, session)
            if failed:
                log.warning("reaper failed %d answer(s) whose worker stopped", failed)
            if requeued:
                log.warning("reaper queued %d stranded answer(s) again", requeued)
        except Exception:
            log.exception("reaper run failed")


configure_logging("chat", settings.log_level)
app = exit_on_bad_providers_file("chat", build_app)
