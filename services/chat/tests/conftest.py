from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from chat_service.config import Settings
from chat_service.main import build_app
from kit import jwt as kjwt
from parley_testing.databases import database_url, drop_database
from parley_testing.redis_server import RedisServer

INTERNAL_TOKEN = "test-internal-token"
SIGNING_KEY = kjwt.generate_private_key()


@pytest.fixture(scope="session")
def chat_settings(
    database_backend: str, redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Settings]:
    tmp: Path = tmp_path_factory.mktemp(f"chat-{database_backend}")
    url = database_url(database_backend, "chat", tmp)
    yield Settings(
        CHAT_DATABASE_URL=url,
        REDIS_URL=redis_server.url,
        PARLEY_DATA_DIR=tmp,
        PARLEY_INTERNAL_TOKEN=INTERNAL_TOKEN,
        PARLEY_MODELS="parley-demo,other-model",
    )
    drop_database(url)


@pytest.fixture(scope="session")
async def chat_client(chat_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async def jwks() -> dict[str, Any]:
        return {"keys": [kjwt.public_jwk(SIGNING_KEY.public_key())]}

    app = build_app(chat_settings, jwks_source=jwks)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://chat") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


def auth_headers(
    user_id: uuid.UUID | None = None,
    *,
    confirmed: bool = True,
    staff: bool = False,
    username: str = "",
) -> dict[str, str]:
    token = kjwt.sign_access_token(
        SIGNING_KEY,
        issuer="parley",
        audience="parley-api",
        user_id=user_id or uuid.uuid4(),
        session_id=uuid.uuid4(),
        email_confirmed=confirmed,
        staff=staff,
        lifetime=timedelta(minutes=5),
        username=username,
    )
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def user() -> Callable[..., dict[str, str]]:
    """Headers for a fresh user: `user()` confirmed, `user(confirmed=False)` not, `user(staff=True)`
    a staff member."""
    return lambda confirmed=True, staff=False: auth_headers(confirmed=confirmed, staff=staff)


@pytest.fixture
def internal() -> dict[str, str]:
    return {"Authorization": f"Bearer {INTERNAL_TOKEN}"}
