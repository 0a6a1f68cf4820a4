from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest

from auth_service.config import Settings
from auth_service.main import build_app
from kit.testing.databases import database_url, drop_database
from parley.redis_server import RedisServer


@pytest.fixture(scope="session")
def auth_settings(
    database_backend: str, redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Settings]:
    tmp: Path = tmp_path_factory.mktemp(f"auth-{database_backend}")
    url = database_url(database_backend, "auth", tmp)
    settings = Settings(
        AUTH_DATABASE_URL=url,
        REDIS_URL=redis_server.url,
        PARLEY_DATA_DIR=tmp,
        PARLEY_PUBLIC_URL="https://parley.example",
    )
    yield settings
    drop_database(url)


@pytest.fixture(scope="session")
async def auth_client(auth_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(auth_settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://auth") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


@pytest.fixture
def new_account() -> Callable[[], dict[str, str]]:
    return make_account


def make_account() -> dict[str, str]:
    tag = uuid.uuid4().hex[:8]
    return {"email": f"user-{tag}@example.com", "username": f"user_{tag}", "password": "correct horse 42"}
