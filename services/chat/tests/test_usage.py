"""Usage and budgets (§11): every stored answer's tokens counted once, and a monthly budget that
refuses the next message, never one already admitted, before anything is queued or stored."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlmodel import select

from chat_service.models import Message, UsageRecord
from kit import jwt as kjwt

from .conftest import SIGNING_KEY, auth_headers

Headers = Callable[..., dict[str, str]]
TODAY = datetime.now(UTC).date().isoformat()


def key_headers(user_id: uuid.UUID, key_id: uuid.UUID) -> dict[str, str]:
    """What the gateway forwards for an API key: a token whose `sid` is the key."""
    token = kjwt.sign_access_token(
        SIGNING_KEY,
        issuer="parley",
        audience="parley-api",
        user_id=user_id,
        session_id=key_id,
        email_confirmed=True,
        staff=False,
        lifetime=timedelta(minutes=1),
        scopes=("chat", "read"),
    )
    return {"Authorization": f"Bearer {token}"}


class Chat:
    def __init__(self, client: httpx.AsyncClient, internal: dict[str, str]) -> None:
        self.client = client
        self.internal = internal

    async def post(
        self, headers: dict[str, str], dialog_id: str, text: str = "hi"
    ) -> httpx.Response:
        return await self.client.post(
            f"/api/dialogs/{dialog_id}/messages", json={"message_text": text}, headers=headers
        )

    async def dialog(self, headers: dict[str, str]) -> str:
        response = await self.client.post("/api/dialogs", json={}, headers=headers)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def answer(
        self, message_id: str, usage: dict[str, int] | None, generation: int = 1
    ) -> None:
        done = await self.client.post(
            f"/internal/messages/{message_id}/answer",
            json={
                "generation": generation,
                "status": "completed",
                "answer_text": "ok",
                "usage": usage,
            },
            headers=self.internal,
        )
        assert done.status_code == 200, done.text

    async def exchange(
        self, headers: dict[str, str], dialog_id: str, tokens: tuple[int, int]
    ) -> str:
        posted = await self.post(headers, dialog_id)
        assert posted.status_code == 202, posted.text
        await self.answer(
            posted.json()["id"], {"prompt_tokens": tokens[0], "completion_tokens": tokens[1]}
        )
        return str(posted.json()["id"])

    async def usage(self, headers: dict[str, str], **params: str) -> dict[str, Any]:
        response = await self.client.get("/api/usage", params=params, headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def set_budget(self, user_id: uuid.UUID, tokens: int | None) -> dict[str, Any]:
        response = await self.client.put(
            f"/api/admin/users/{user_id}/budget",
            json={"monthly_tokens": tokens},
            headers=auth_headers(staff=True),
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def stored(self, dialog_id: str) -> int:
        async with self.client.app.state.runtime.db.session() as session:  # type: ignore[attr-defined]
            rows = await session.exec(
                select(Message).where(Message.dialog_id == uuid.UUID(dialog_id))
            )
            return len(rows.all())


def chat(client: httpx.AsyncClient, internal: dict[str, str]) -> Chat:
    return Chat(client, internal)


class TestUsage:
    async def test_each_answer_counted_once_by_day_and_model(
        self, chat_client: httpx.AsyncClient, internal: dict[str, str]
    ) -> None:
        c, user_id = chat(chat_client, internal), uuid.uuid4()
        me = auth_headers(user_id)
        dialog = await c.dialog(me)
        first = await c.exchange(me, dialog, (10, 5))
        await c.answer(
            first, {"prompt_tokens": 99, "completion_tokens": 99}
        )  # a duplicate callback
        await c.exchange(me, dialog, (7, 3))
        other = await c.client.post(
            f"/api/dialogs/{dialog}/messages",
            json={"message_text": "x", "model": "other-model"},
            headers=me,
        )
        await c.answer(
            other.json()["id"], {"prompt_tokens": 4, "completion_tokens": 8, "estimated": 1}
        )
        usage = await c.usage(me)
        assert usage["data"] == [
            {
                "date": TODAY,
                "model": "other-model",
                "messages": 1,
                "prompt_tokens": 4,
                "completion_tokens": 8,
                "estimated_tokens": 12,
            },
            {
                "date": TODAY,
                "model": "parley-demo",
                "messages": 2,
                "prompt_tokens": 17,
                "completion_tokens": 8,
                "estimated_tokens": 0,
            },
        ]
        assert usage["totals"] == {
            "messages": 3,
            "prompt_tokens": 21,
            "completion_tokens": 16,
            "estimated_tokens": 12,
        }
        assert usage["budget"]["monthly_tokens"] is None
        assert usage["budget"]["used"] == 37
        # deleting the dialog does not give the tokens back
        assert (await c.client.delete(f"/api/dialogs/{dialog}", headers=me)).status_code == 204
        assert (await c.usage(me))["totals"]["prompt_tokens"] == 21
        # nobody else sees it
        assert (await c.usage(auth_headers()))["totals"]["messages"] == 0

    async def test_a_keys_usage_is_its_own(
        self, chat_client: httpx.AsyncClient, internal: dict[str, str]
    ) -> None:
        c, user_id, key_id = chat(chat_client, internal), uuid.uuid4(), uuid.uuid4()
        person, program = auth_headers(user_id), key_headers(user_id, key_id)
        dialog = await c.dialog(person)
        await c.exchange(person, dialog, (1, 1))
        await c.exchange(program, dialog, (20, 10))
        assert (await c.usage(person))["totals"]["completion_tokens"] == 11
        assert (await c.usage(person, key_id=str(key_id)))["totals"]["completion_tokens"] == 10
        async with c.client.app.state.runtime.db.session() as session:  # type: ignore[attr-defined]
            rows = (
                await session.exec(select(UsageRecord).where(UsageRecord.user_id == user_id))
            ).all()
        assert {r.prompt_tokens: r.key_id for r in rows} == {1: None, 20: key_id}

    async def test_period_is_checked(self, chat_client: httpx.AsyncClient, user: Headers) -> None:
        for params, field in (
            ({"from": "2026-05-02", "to": "2026-05-01"}, "from"),
            ({"from": "2020-01-01", "to": "2026-01-01"}, "from"),
            ({"from": "yesterday"}, "from"),
        ):
            response = await chat_client.get("/api/usage", params=params, headers=user())
            assert response.status_code == 422, response.text
            assert field in response.json()["errors"]


class TestBudgets:
    async def test_crossed_exactly_at_the_limit(
        self, chat_client: httpx.AsyncClient, internal: dict[str, str]
    ) -> None:
        c, user_id = chat(chat_client, internal), uuid.uuid4()
        me = auth_headers(user_id)
        state = await c.set_budget(user_id, 30)
        assert state["monthly_tokens"] == 30
        assert state["overridden"] is True
        assert state["used"] == 0
        dialog = await c.dialog(me)
        await c.exchange(me, dialog, (10, 5))
        last = await c.exchange(me, dialog, (10, 4))  # 29 used: one token left, still admitted
        await c.exchange(me, dialog, (1, 1))  # 31: admitted before, counted in full
        refused = await c.post(me, dialog)
        assert refused.status_code == 429, refused.text
        problem = refused.json()
        assert problem["code"] == "budget_exceeded"
        assert problem["budget"]["used"] == 31
        assert problem["budget"]["monthly_tokens"] == 30
        resets = datetime.fromisoformat(problem["budget"]["resets_at"])
        assert resets.day == 1
        assert resets > datetime.now(UTC)
        retry = int(refused.headers["retry-after"])
        assert refused.headers["ratelimit-policy"].startswith('"monthly-tokens";q=30;w=')
        assert refused.headers["ratelimit"] == f'"monthly-tokens";r=0;t={retry}'
        assert abs(retry - (resets - datetime.now(UTC)).total_seconds()) < 5
        assert await c.stored(dialog) == 3  # nothing stored for the refused post
        regenerate = await c.client.post(f"/api/messages/{last}/regenerate", headers=me)
        assert regenerate.status_code == 429
        assert regenerate.json()["code"] == "budget_exceeded"
        new_dialog = await c.client.post("/api/dialogs", json={"message_text": "x"}, headers=me)
        assert new_dialog.status_code == 429
        dialogs = (await c.client.get("/api/dialogs", headers=me)).json()["data"]
        assert len(dialogs) == 1  # a dialog with a refused first message is not created
        # staff lift it: back to the default (unlimited)
        await c.set_budget(user_id, None)
        assert (await c.post(me, dialog)).status_code == 202

    async def test_concurrent_posts_after_the_budget_ran_out_store_nothing(
        self, chat_client: httpx.AsyncClient, internal: dict[str, str]
    ) -> None:
        c, user_id = chat(chat_client, internal), uuid.uuid4()
        me = auth_headers(user_id)
        await c.set_budget(user_id, 20)
        dialog = await c.dialog(me)
        # three answers admitted together while 0 tokens were used: all run and all count
        admitted = await asyncio.gather(*(c.post(me, dialog) for _ in range(3)))
        assert [r.status_code for r in admitted] == [202, 202, 202]
        for r in admitted:
            await c.answer(r.json()["id"], {"prompt_tokens": 5, "completion_tokens": 5})
        assert (await c.usage(me))["budget"]["used"] == 30
        refused = await asyncio.gather(*(c.post(me, dialog) for _ in range(8)))
        assert {r.status_code for r in refused} == {429}
        assert {r.json()["code"] for r in refused} == {"budget_exceeded"}
        assert await c.stored(dialog) == 3

    async def test_the_default_budget_and_a_staff_override(
        self, chat_client: httpx.AsyncClient, internal: dict[str, str]
    ) -> None:
        runtime = chat_client.app.state.runtime  # type: ignore[attr-defined]
        c, user_id = chat(chat_client, internal), uuid.uuid4()
        me = auth_headers(user_id)
        dialog = await c.dialog(me)
        settings = runtime.settings
        runtime.settings = settings.model_copy(update={"default_monthly_tokens": 10})
        try:
            await c.exchange(me, dialog, (6, 6))
            refused = await c.post(me, dialog)
            assert refused.status_code == 429
            assert refused.json()["code"] == "budget_exceeded"
            assert (await c.usage(me))["budget"] == {
                **(await c.usage(me))["budget"],
                "monthly_tokens": 10,
                "overridden": False,
                "used": 12,
            }
            await c.set_budget(user_id, 1000)
            assert (await c.post(me, dialog)).status_code == 202
        finally:
            runtime.settings = settings

    async def test_staff_only(self, chat_client: httpx.AsyncClient, user: Headers) -> None:
        target = uuid.uuid4()
        for headers in (user(), key_headers(uuid.uuid4(), uuid.uuid4())):
            put = await chat_client.put(
                f"/api/admin/users/{target}/budget", json={"monthly_tokens": 5}, headers=headers
            )
            assert put.status_code == 403
            assert (await chat_client.get("/api/admin/usage", headers=headers)).status_code == 403
        bad = await chat_client.put(
            f"/api/admin/users/{target}/budget",
            json={"monthly_tokens": -1},
            headers=auth_headers(staff=True),
        )
        assert bad.status_code == 422
        assert "monthly_tokens" in bad.json()["errors"]

    async def test_staff_see_usage_across_users(
        self, chat_client: httpx.AsyncClient, internal: dict[str, str]
    ) -> None:
        c = chat(chat_client, internal)
        alice, bob = uuid.uuid4(), uuid.uuid4()
        for user_id, tokens in ((alice, (100, 50)), (bob, (1, 2))):
            headers = auth_headers(user_id)
            await c.exchange(headers, await c.dialog(headers), tokens)
        staff = auth_headers(staff=True)
        everyone = (await chat_client.get("/api/admin/usage", headers=staff)).json()
        ranked = [u["user_id"] for u in everyone["users"]]
        assert ranked.index(str(alice)) < ranked.index(str(bob))
        only_bob = (
            await chat_client.get("/api/admin/usage", params={"user_id": str(bob)}, headers=staff)
        ).json()
        assert only_bob["totals"]["prompt_tokens"] == 1
        assert len(only_bob["users"]) == 1
        budget = await chat_client.get(f"/api/admin/users/{alice}/budget", headers=staff)
        assert budget.json()["used"] == 150


def test_an_empty_default_budget_is_unlimited() -> None:
    """compose and ConfigMaps pass an unset variable as an empty string."""
    from chat_service.config import Settings

    assert Settings(PARLEY_DEFAULT_MONTHLY_TOKENS="").default_monthly_tokens is None
    assert Settings(PARLEY_DEFAULT_MONTHLY_TOKENS="5000").default_monthly_tokens == 5000
