"""The gateway in front of the real auth and chat services (over HTTP on 127.0.0.1)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest

from auth_service.config import Settings as AuthSettings
from auth_service.main import build_app as build_auth
from chat_service.config import Settings as ChatSettings
from chat_service.main import build_app as build_chat
from gateway.config import Settings
from gateway.main import build_app
from kit.testing.databases import database_url, drop_database
from kit.testing.servers import free_port, serve_asgi
from parley.redis_server import RedisServer

INTERNAL = "gateway-test-internal-token"


@pytest.fixture(scope="session")
def services(
    database_backend: str, redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    tmp: Path = tmp_path_factory.mktemp(f"gw-{database_backend}")
    auth_db = database_url(database_backend, "gw_auth", tmp)
    chat_db = database_url(database_backend, "gw_chat", tmp)
    auth_port = free_port()
    common = {
        "REDIS_URL": redis_server.url,
        "PARLEY_DATA_DIR": tmp,
        "PARLEY_INTERNAL_TOKEN": INTERNAL,
        "PARLEY_AUTH_URL": f"http://127.0.0.1:{auth_port}",
        "PARLEY_PUBLIC_URL": "https://parley.example",
    }
    auth = build_auth(AuthSettings(AUTH_DATABASE_URL=auth_db, **common))
    chat = build_chat(ChatSettings(CHAT_DATABASE_URL=chat_db, **common))
    with serve_asgi(auth, auth_port) as auth_url, serve_asgi(chat) as chat_url:
        yield auth_url, chat_url
    drop_database(auth_db)
    drop_database(chat_db)


@pytest.fixture(scope="session")
def gateway_settings(services: tuple[str, str], redis_server: RedisServer) -> Settings:
    auth_url, chat_url = services
    return Settings(
        PARLEY_AUTH_URL=auth_url,
        PARLEY_CHAT_URL=chat_url,
        REDIS_URL=redis_server.url,
        PARLEY_PUBLIC_URL="https://parley.example",
        PARLEY_CORS_ORIGINS="https://app.example",
        PARLEY_WEB_DIR="/nonexistent",
    )


@pytest.fixture(scope="session")
async def gateway(gateway_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(gateway_settings, serve_metrics=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 4242))
        async with httpx.AsyncClient(transport=transport, base_url="https://parley.example") as client:
            yield client


@pytest.fixture
def new_account() -> Callable[[], dict[str, str]]:
    def make() -> dict[str, str]:
        tag = uuid.uuid4().hex[:8]
        return {"email": f"gw-{tag}@example.com", "username": f"gw_{tag}", "password": "correct horse 42"}

    return make
