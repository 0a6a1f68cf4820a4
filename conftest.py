"""Fixtures shared by every test package: real Redis, real databases (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

# The `gateway` package shares its name with its folder: import the real one before pytest's
# importlib mode registers `gateway/tests/…` under a placeholder `gateway` namespace.
import gateway  # noqa: F401
from parley_testing.databases import POSTGRES_URL
from parley_testing.redis_server import RedisServer

os.environ.setdefault("PARLEY_ENV", "testing")
# Cheap argon2 in tests; the production cost is measured in bench/.
os.environ.setdefault("PARLEY_ARGON2_MEMORY_KIB", "1024")
os.environ.setdefault("PARLEY_ARGON2_TIME_COST", "1")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server


BACKENDS = [
    "sqlite",
    pytest.param(
        "postgres",
        marks=pytest.mark.skipif(not POSTGRES_URL, reason="TEST_POSTGRES_URL is not set"),
    ),
]


@pytest.fixture(params=BACKENDS, scope="session")
def database_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)
