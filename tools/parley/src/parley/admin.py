"""Administrative actions run from the command line."""

from __future__ import annotations

from auth_service.accounts.schemas import RegisterIn
from auth_service.accounts.service import create_user
from auth_service.config import Settings
from auth_service.main import MIGRATIONS
from auth_service.passwords import Passwords
from kit.db import Database
from kit.errors import FieldErrors
from kit.migrations import upgrade_async


async def create_superuser(email: str, username: str, password: str) -> None:
    settings = Settings()
    try:
        data = RegisterIn(email=email, username=username, password=password)
    except ValueError as exc:
        raise ValueError(str(exc)) from None
    await upgrade_async(settings.database_url, MIGRATIONS)
    db = Database(settings.database_url)
    passwords = Passwords(
        memory_kib=settings.argon2_memory_kib,
        time_cost=settings.argon2_time_cost,
        parallelism=settings.argon2_parallelism,
        concurrency=1,
    )
    try:
        async with db.session() as session:
            await create_user(
                passwords,
                session,
                email=data.email,
                username=data.username,
                password=data.password,
                is_staff=True,
                is_email_confirmed=True,
            )
    except FieldErrors as exc:
        raise ValueError("; ".join(m for ms in exc.errors.values() for m in ms)) from None
    finally:
        await db.dispose()
