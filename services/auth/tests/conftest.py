"""The auth service in-process (ASGI), on real SQLite/PostgreSQL and a real Redis.

Every test gets its own client address (`X-Real-IP`, as the gateway would set it) so per-IP
limits of one test never spill into another; limits stay at their production values.
`auth_variant` builds another auth app on the same database with some settings changed.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import col, select

from auth_service.config import Settings
from auth_service.main import build_app
from auth_service.runtime import Runtime
from kit.outbox import OutboxEvent
from parley_testing.databases import database_url, drop_database
from parley_testing.redis_server import RedisServer

PASSWORD = "correct horse 42"


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
async def auth_app(auth_settings: Settings) -> AsyncIterator[FastAPI]:
    app = build_app(auth_settings)
    async with app.router.lifespan_context(app):
        yield app


def random_ip() -> str:
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


def client_for(app: FastAPI, ip: str | None = None) -> httpx.AsyncClient:
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://auth",
        headers={"X-Real-IP": ip or random_ip(), "User-Agent": "pytest-browser/1.0"},
    )
    client.app = app  # type: ignore[attr-defined]
    return client


@pytest.fixture
async def auth_client(auth_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(auth_app) as client:
        yield client


@pytest.fixture
def auth_variant(
    auth_settings: Settings,
) -> Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]:
    """Another auth app on the same database and Redis, with some settings overridden."""

    @asynccontextmanager
    async def make(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        app = build_app(auth_settings.model_copy(update=overrides))
        async with app.router.lifespan_context(app), client_for(app) as client:
            yield client

    return make


def make_account() -> dict[str, str]:
    tag = uuid.uuid4().hex[:8]
    return {"email": f"user-{tag}@example.com", "username": f"user_{tag}", "password": PASSWORD}


@pytest.fixture
def new_account() -> Callable[[], dict[str, str]]:
    return make_account


def runtime(client: httpx.AsyncClient) -> Runtime:
    return client.app.state.runtime  # type: ignore[attr-defined, no-any-return]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Api:
    """Small conveniences over the HTTP API, so tests read as user stories."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    @property
    def runtime(self) -> Runtime:
        return runtime(self.client)

    @staticmethod
    def bearer(token: str) -> dict[str, str]:
        return bearer(token)

    async def register(self, account: dict[str, str] | None = None) -> dict[str, Any]:
        account = account or make_account()
        response = await self.client.post("/api/auth/register", json=account)
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        body["account"] = account
        body["auth"] = bearer(body["access_token"])
        return body

    async def login(self, email: str, password: str = PASSWORD) -> httpx.Response:
        return await self.client.post(
            "/api/auth/login", json={"email": email, "password": password}
        )

    async def events(self, event_type: str, **match: str) -> list[dict[str, Any]]:
        """The data of outbox events of a type whose fields equal `match`, oldest first."""
        async with runtime(self.client).db.session() as session:
            rows = (
                await session.exec(
                    select(OutboxEvent)
                    .where(OutboxEvent.type == event_type)
                    .order_by(col(OutboxEvent.created_at))
                )
            ).all()
        found = [json.loads(r.payload)["data"] for r in rows]
        return [d for d in found if all(d.get(k) == v for k, v in match.items())]

    async def link_token(self, event_type: str, email: str) -> str:
        events = await self.events(event_type, email=email)
        assert events, f"no {event_type} for {email}"
        return str(events[-1]["link"].rsplit("/", 1)[1])


@pytest.fixture
def api(auth_client: httpx.AsyncClient) -> Api:
    return Api(auth_client)
