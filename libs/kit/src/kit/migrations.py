"""Alembic wiring shared by every service that owns a database.

Each service keeps its own `migrations/` tree whose `env.py` calls `run_env(metadata)`;
`upgrade(url, script_location)` applies it programmatically (at service start and from
`parley migrate`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine


def alembic_config(url: str, script_location: Path) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["configure_logging"] = False
    return cfg


def upgrade(url: str, script_location: Path, revision: str = "head") -> None:
    """Apply migrations (blocking: call it from a thread inside an event loop)."""
    if url.startswith("sqlite"):
        _ensure_sqlite_dir(url)
    command.upgrade(alembic_config(url, script_location), revision)


def downgrade(url: str, script_location: Path, revision: str = "base") -> None:
    command.downgrade(alembic_config(url, script_location), revision)


async def upgrade_async(url: str, script_location: Path) -> None:
    await asyncio.to_thread(upgrade, url, script_location)


def _ensure_sqlite_dir(url: str) -> None:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def run_env(metadata: MetaData) -> None:
    """Body of a service's `env.py`: run migrations online with the async driver."""

    def do_run(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run() -> None:
        url = context.config.get_main_option("sqlalchemy.url")
        assert url is not None
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as conn:
            await conn.run_sync(do_run)
        await engine.dispose()

    asyncio.run(run())
