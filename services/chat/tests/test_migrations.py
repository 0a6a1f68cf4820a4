"""Migrations that change existing rows, run on data written under the previous revision."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from chat_service.main import MIGRATIONS
from chat_service.workspaces.ids import personal_id
from kit.migrations import upgrade
from parley_testing.databases import database_url, drop_database


def test_answers_in_flight_become_queued_and_dialogs_keep_everything(
    database_backend: str, tmp_path: Path
) -> None:
    # 0005: `generating` is no longer stored; 0006: a dialog's copied system prompt gives way
    # to its own (empty) instructions and the assistant as its agent; 0011: the dialog moves
    # into its maker's personal workspace, made for them with them as its owner
    url = database_url(database_backend, "chat_mig", tmp_path)
    try:
        upgrade(url, MIGRATIONS, "0004")
        engine = sa.create_engine(url.replace("+aiosqlite", "").replace("+asyncpg", "+psycopg2"))

        def key(value: uuid.UUID) -> object:
            return value.hex if database_backend == "sqlite" else value

        dialog, user = uuid.uuid4(), uuid.uuid4()
        messages = {uuid.uuid4(): "generating", uuid.uuid4(): "completed", uuid.uuid4(): "queued"}
        at = datetime(2026, 1, 1, tzinfo=UTC)
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO dialog (id, user_id, name, model, system_prompt, created_at,"
                    " updated_at) VALUES (:id, :user, 'old chat', 'parley-demo', 'Be helpful.',"
                    " :at, :at)"
                ),
                {"id": key(dialog), "user": key(user), "at": at},
            )
            for message_id, status in messages.items():
                conn.execute(
                    sa.text(
                        "INSERT INTO message (id, dialog_id, user_id, message_text, answer_text,"
                        " status, model, generation, created_at) VALUES (:id, :dialog, :user,"
                        " 'q', 'a', :status, 'parley-demo', 1, :at)"
                    ),
                    {
                        "id": key(message_id),
                        "dialog": key(dialog),
                        "user": key(user),
                        "status": status,
                        "at": at,
                    },
                )
        upgrade(url, MIGRATIONS)
        with engine.begin() as conn:
            stored = conn.execute(sa.text("SELECT name, instructions, agent_id FROM dialog")).all()
            statuses = conn.execute(sa.text("SELECT id, status, agent FROM message")).all()
            placed = conn.execute(sa.text("SELECT workspace_id, visibility FROM dialog")).all()
            workspaces = conn.execute(
                sa.text("SELECT id, personal, created_by FROM workspace")
            ).all()
            members = conn.execute(
                sa.text("SELECT workspace_id, user_id, role FROM workspace_member")
            ).all()
        engine.dispose()
        assert stored == [("old chat", "", None)]
        personal = personal_id(user)
        assert [(uuid.UUID(str(w)), v) for w, v in placed] == [(personal, "private")]
        assert [(uuid.UUID(str(w)), bool(p), uuid.UUID(str(u))) for w, p, u in workspaces] == [
            (personal, True, user)
        ]
        assert [(uuid.UUID(str(w)), uuid.UUID(str(u)), r) for w, u, r in members] == [
            (personal, user, "owner")
        ]
        by_id = {uuid.UUID(str(row_id)): (status, agent) for row_id, status, agent in statuses}
        assert by_id == {
            message_id: ("completed" if status == "completed" else "queued", None)
            for message_id, status in messages.items()
        }
    finally:
        drop_database(url)
