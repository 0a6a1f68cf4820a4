"""The gateway in front of the real auth and chat services (over HTTP on 127.0.0.1).

Auth and chat run under uvicorn in threads; the gateway runs in the test's event loop behind
`httpx.ASGITransport`, which lets each test choose the client address the gateway sees. Every
test gets its own address, so per-IP limits (at production values) never spill between tests.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import col, select

from auth_service.config import Settings as AuthSettings
from auth_service.main import build_app as build_auth
from chat_service.config import Settings as ChatSettings
from chat_service.main import build_app as build_chat
from gateway.config import Settings
from gateway.main import build_app
from kit.db import Database
from kit.outbox import OutboxEvent
from parley_testing.databases import database_url, drop_database
from parley_testing.ports import free_port
from parley_testing.redis_server import RedisServer
from parley_testing.servers import serve_asgi

INTERNAL = "gateway-test-internal-token"
PUBLIC_URL = "https://parley.example"
PASSWORD = "correct horse 42"
CSRF = {"X-Parley-CSRF": "1"}
COOKIE = "__Secure-parley_refresh"
BODY = {"Parley-Token-Transport": "body"}


@dataclass
class Services:
    auth_url: str
    chat_url: str
    tmp: Path
    auth_db: str
    common: dict[str, Any]


@pytest.fixture(scope="session")
def services(
    database_backend: str, redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Services]:
    tmp: Path = tmp_path_factory.mktemp(f"gw-{database_backend}")
    auth_db = database_url(database_backend, "gw_auth", tmp)
    chat_db = database_url(database_backend, "gw_chat", tmp)
    auth_port = free_port()
    common: dict[str, Any] = {
        "REDIS_URL": redis_server.url,
        "PARLEY_DATA_DIR": tmp,
        "PARLEY_INTERNAL_TOKEN": INTERNAL,
        "PARLEY_AUTH_URL": f"http://127.0.0.1:{auth_port}",
        "PARLEY_PUBLIC_URL": PUBLIC_URL,
    }
    auth = build_auth(AuthSettings(AUTH_DATABASE_URL=auth_db, **common))
    chat = build_chat(ChatSettings(CHAT_DATABASE_URL=chat_db, **common))
    with serve_asgi(auth, auth_port) as auth_url, serve_asgi(chat) as chat_url:
        yield Services(auth_url, chat_url, tmp, auth_db, common)
    drop_database(auth_db)
    drop_database(chat_db)


@pytest.fixture(scope="session")
def gateway_settings(services: Services, redis_server: RedisServer) -> Settings:
    return Settings(
        PARLEY_AUTH_URL=services.auth_url,
        PARLEY_CHAT_URL=services.chat_url,
        REDIS_URL=redis_server.url,
        PARLEY_PUBLIC_URL=PUBLIC_URL,
        PARLEY_CORS_ORIGINS="https://app.example",
        PARLEY_WEB_DIR="/nonexistent",
        PARLEY_INTERNAL_TOKEN=INTERNAL,
    )


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[FastAPI]:
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture(scope="session")
async def gateway_app(gateway_settings: Settings) -> AsyncIterator[FastAPI]:
    async with running(build_app(gateway_settings, serve_metrics=False)) as app:
        yield app


def random_ip() -> str:
    return f"100.{random.randrange(64, 128)}.{random.randrange(256)}.{random.randrange(1, 255)}"


def browser_for(app: FastAPI, ip: str | None = None, **kwargs: Any) -> httpx.AsyncClient:
    """A client of its own (own cookie jar and address) talking to the gateway app."""
    transport = httpx.ASGITransport(app=app, client=(ip or random_ip(), 4242))
    return httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL, **kwargs)


@pytest.fixture
async def gateway(gateway_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with browser_for(gateway_app) as client:
        yield client


@pytest.fixture
def visitor(gateway_app: FastAPI) -> Callable[..., httpx.AsyncClient]:
    """Makes clients of their own (cookie jar, address); not `browser`: Playwright owns that."""
    return lambda ip=None, **kw: browser_for(gateway_app, ip, **kw)


@pytest.fixture(scope="session")
async def auth_db(services: Services) -> AsyncIterator[Database]:
    """Auth's database, opened from the test's own event loop (to read events, age tokens)."""
    db = Database(services.auth_db)
    yield db
    await db.dispose()


def make_account() -> dict[str, str]:
    tag = uuid.uuid4().hex[:8]
    return {"email": f"gw-{tag}@example.com", "username": f"gw_{tag}", "password": PASSWORD}


@pytest.fixture
def new_account() -> Callable[[], dict[str, str]]:
    return make_account


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Gw:
    """Conveniences over the public API (through the gateway), so tests read as stories."""

    def __init__(self, client: httpx.AsyncClient, db: Database) -> None:
        self.client = client
        self.db = db

    async def register(
        self, account: dict[str, str] | None = None, *, body: bool = True
    ) -> dict[str, Any]:
        account = account or make_account()
        response = await self.client.post(
            "/api/auth/register", json=account, headers=BODY if body else None
        )
        assert response.status_code == 201, response.text
        data: dict[str, Any] = response.json()
        data["account"] = account
        data["auth"] = bearer(data["access_token"])
        return data

    async def login(self, email: str, password: str = PASSWORD) -> httpx.Response:
        return await self.client.post(
            "/api/auth/login", json={"email": email, "password": password}, headers=BODY
        )

    async def events(self, event_type: str, **match: str) -> list[dict[str, Any]]:
        async with self.db.session() as session:
            rows = (
                await session.exec(
                    select(OutboxEvent)
                    .where(OutboxEvent.type == event_type)
                    .order_by(col(OutboxEvent.created_at))
                )
            ).all()
        found = [json.loads(r.payload)["data"] for r in rows]
        return [d for d in found if all(d.get(k) == v for k, v in match.items())]

    async def wait_for_event(self, event_type: str, **match: str) -> dict[str, Any]:
        """Events written after the response (forgot-password) appear a moment later."""
        for _ in range(100):
            if found := await self.events(event_type, **match):
                return found[-1]
            await asyncio.sleep(0.02)
        raise AssertionError(f"no {event_type} matching {match}")


@pytest.fixture
def gw(gateway: httpx.AsyncClient, auth_db: Database) -> Gw:
    return Gw(gateway, auth_db)
