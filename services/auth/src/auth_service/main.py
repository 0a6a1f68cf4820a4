"""The auth service: users, profiles, sessions and tokens (docs/DESIGN.md §2–3)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request

from auth_service.accounts import endpoints as accounts_endpoints
from auth_service.accounts import internal as accounts_internal
from auth_service.admin import endpoints as admin_endpoints
from auth_service.api_keys import endpoints as api_keys_endpoints
from auth_service.config import Settings, settings
from auth_service.keys import KeyRing
from auth_service.passwords import Passwords, common_passwords
from auth_service.profiles import endpoints as profiles_endpoints
from auth_service.ratelimit import AuthLimits, LoginThrottle
from auth_service.runtime import Runtime
from auth_service.sessions import endpoints as sessions_endpoints
from kit import events
from kit.app import create_app
from kit.avatars.store import AvatarStore
from kit.avatars.upload import UploadLimit
from kit.db import Database
from kit.jwt import JWKSVerifier
from kit.logging import configure_logging
from kit.migrations import upgrade_async
from kit.outbox import OutboxRelay
from kit.ratelimit import RateLimiter, write_limits
from kit.redis_clients import async_redis

MIGRATIONS = Path(__file__).parent / "migrations"


def build_app(config: Settings = settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await upgrade_async(config.database_url, MIGRATIONS)
        db = Database(config.database_url)
        redis = async_redis(config.redis_url)
        keys = KeyRing(
            config.signing_keys_dir, activation_seconds=config.key_activation_seconds
        ).load()
        common_passwords()  # read the list now, not during the first registration

        async def own_jwks() -> dict[str, Any]:
            return keys.jwks()

        runtime = Runtime(
            settings=config,
            db=db,
            redis=redis,
            relay=OutboxRelay(db, config.broker_url, service="auth"),
            keys=keys,
            passwords=Passwords(
                memory_kib=config.argon2_memory_kib,
                time_cost=config.argon2_time_cost,
                parallelism=config.argon2_parallelism,
                concurrency=config.hashing_concurrency,
            ),
            # the key ring is local and cheap to ask, so an unknown kid may look again at once
            verifier=JWKSVerifier(
                own_jwks,
                issuer=config.jwt_issuer,
                audience=config.jwt_audience,
                min_refetch_seconds=0,
            ),
            limiter=RateLimiter(redis),
            limits=AuthLimits.from_settings(config),
            write_limits=write_limits(config),
            login_throttle=LoginThrottle.from_settings(redis, config),
            avatars=AvatarStore(
                config.avatars_dir,
                route="/api/avatars",
                public_url=config.public_url,
                max_bytes=config.avatar_max_bytes,
                max_pixels=config.avatar_max_pixels,
                concurrency=config.image_concurrency,
            ),
        )
        app.state.runtime = runtime
        app.state.checks = {
            "database": db.ping,
            "redis": redis.ping,
            "broker": lambda: asyncio.to_thread(_broker_ping, config.broker_url),
        }
        runtime.relay.start()
        try:
            yield
        finally:
            await runtime.relay.stop()  # leaves its database session before the engine goes
            await redis.aclose()
            await db.dispose()

    app = create_app(service="auth", title="Parley auth", lifespan=lifespan)
    app.include_router(accounts_endpoints.router, tags=["accounts"])
    app.include_router(sessions_endpoints.router, tags=["sessions"])
    app.include_router(profiles_endpoints.router, tags=["profiles"])
    app.add_middleware(
        UploadLimit,
        max_file_bytes=config.avatar_max_bytes,
        is_upload=profiles_endpoints.is_avatar_upload,
    )
    app.include_router(api_keys_endpoints.router, tags=["api keys"])
    app.include_router(admin_endpoints.router, tags=["admin"])
    app.include_router(accounts_internal.router)
    app.include_router(api_keys_endpoints.internal)

    @app.get("/.well-known/jwks.json", include_in_schema=False)
    async def jwks(request: Request) -> dict[str, Any]:
        runtime: Runtime = request.app.state.runtime
        return runtime.keys.jwks()

    return app


def _broker_ping(url: str) -> None:
    with events.connect(url) as conn:
        conn.ensure_connection(max_retries=1)


configure_logging("auth", settings.log_level)
app = build_app()
