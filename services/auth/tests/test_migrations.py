"""Migrations that change existing rows, run on data written under the previous revision."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from auth_service.main import MIGRATIONS
from kit.migrations import upgrade
from parley_testing.databases import database_url, drop_database


def sync_url(url: str) -> str:
    return url.replace("+aiosqlite", "").replace("+asyncpg", "+psycopg2")


def test_usernames_differing_by_case_become_unique_losing_no_account(
    database_backend: str, tmp_path: Path
) -> None:
    url = database_url(database_backend, "auth_mig", tmp_path)
    try:
        upgrade(url, MIGRATIONS, "0001")
        engine = sa.create_engine(sync_url(url))
        start = datetime(2026, 1, 1, tzinfo=UTC)
        names = ["alice", "ALICE", "Alice", "bob", "a" * 25, "A" * 25]
        ids = [uuid.uuid4() for _ in names]
        with engine.begin() as conn:
            for i, (user_id, name) in enumerate(zip(ids, names, strict=True)):
                conn.execute(
                    sa.text(
                        "INSERT INTO user_account (id, email, username, password_hash, is_active,"
                        " is_staff, is_email_confirmed, created_at, updated_at) VALUES (:id,"
                        " :email, :username, 'x', true, false, false, :at, :at)"
                    ),
                    {
                        "id": user_id.hex if database_backend == "sqlite" else user_id,
                        "email": f"u{i}@example.com",
                        "username": name,
                        "at": start + timedelta(minutes=i),
                    },
                )
        upgrade(url, MIGRATIONS)
        with engine.begin() as conn:
            rows = conn.execute(
                sa.text("SELECT email, username FROM user_account ORDER BY email")
            ).all()
        by_email = dict(rows)
        assert len(by_email) == len(names)  # every account is still there
        assert by_email["u0@example.com"] == "alice"  # the oldest keeps its name
        assert by_email["u3@example.com"] == "bob"
        assert by_email["u4@example.com"] == "a" * 25
        lowered = [u.lower() for u in by_email.values()]
        assert len(set(lowered)) == len(lowered)
        for email in ("u1@example.com", "u2@example.com", "u5@example.com"):
            assert len(by_email[email]) <= 25
            assert "_" in by_email[email]
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO user_account (id, email, username, password_hash, is_active,"
                    " is_staff, is_email_confirmed, created_at, updated_at) VALUES (:id, 'x@e.com',"
                    " 'BOB', 'x', true, false, false, :at, :at)"
                ),
                {"id": uuid.uuid4().hex, "at": start},
            )
        engine.dispose()
    finally:
        drop_database(url)
