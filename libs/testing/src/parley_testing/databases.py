"""Test databases: SQLite files, and fresh PostgreSQL databases when `TEST_POSTGRES_URL` is set."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL")


def _pg_admin_url() -> str:
    assert POSTGRES_URL
    return make_url(POSTGRES_URL).set(drivername="postgresql+psycopg2").render_as_string(False)


def create_pg_database(prefix: str) -> str:
    """A fresh PostgreSQL database for one test run; returns its asyncpg URL."""
    assert POSTGRES_URL
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    engine = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(POSTGRES_URL).set(database=name).render_as_string(False)


def drop_pg_database(url: str) -> None:
    name = make_url(url).database
    engine = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def database_url(backend: str, prefix: str, tmp: Path) -> str:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp / (prefix + '.db')}"
    return create_pg_database(prefix)


def drop_database(url: str) -> None:
    if not url.startswith("sqlite"):
        drop_pg_database(url)
