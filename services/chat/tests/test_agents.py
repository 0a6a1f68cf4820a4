"""Agents (docs/DESIGN.md §9): the API's rules, and who answers a message with what context."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from redis import Redis

from parley_testing.redis_server import RedisServer

Headers = Callable[..., dict[str, str]]
POET = {
    "handle": "poet",
    "name": "Poet",
    "description": "Answers in verse.",
    "instructions": "Answer in rhyming couplets.",
    "temperature": 0.9,
}


def queued_job(redis_server: RedisServer, message_id: str) -> dict[str, Any]:
    """The answer job queued for a message (the llm queue of the Redis broker)."""
    import base64

    for item in Redis.from_url(redis_server.url).lrange("llm", 0, -1):
        _, kwargs, _ = json.loads(base64.b64decode(json.loads(item)["body"]))
        if kwargs["message_id"] == message_id:
            return kwargs  # type: ignore[no-any-return]
    raise AssertionError(f"no job for {message_id}")


async def make_agent(
    client: httpx.AsyncClient, headers: dict[str, str], **fields: object
) -> dict[str, Any]:
    response = await client.post("/api/agents", json={**POET, **fields}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def answer(
    client: httpx.AsyncClient, internal: dict[str, str], message_id: str, text: str
) -> None:
    done = await client.post(
        f"/internal/messages/{message_id}/answer",
        json={"generation": 1, "status": "completed", "answer_text": text},
        headers=internal,
    )
    assert done.status_code == 200, done.text


class TestAgentsApi:
    async def test_a_personal_agent_is_its_owners_alone(
        self, chat_client: httpx.AsyncClient, user: Headers
    ) -> None:
        owner, stranger = user(), user()
        poet = await make_agent(chat_client, owner)
        assert (poet["scope"], poet["handle"], poet["temperature"]) == ("personal", "poet", 0.9)
        listed = (await chat_client.get("/api/agents", headers=owner)).json()["data"]
        assert [a["handle"] for a in listed] == ["assistant", "poet"]
        assert listed[0]["instructions"] == "You are a helpful assistant."
        others = (await chat_client.get("/api/agents", headers=stranger)).json()["data"]
        assert [a["handle"] for a in others] == ["assistant"]
        url = f"/api/agents/{poet['id']}"
        for method, body in (("GET", None), ("PATCH", {"name": "Mine"}), ("DELETE", None)):
            refused = await chat_client.request(method, url, json=body, headers=stranger)
            assert refused.status_code == 404, method
        renamed = await chat_client.patch(url, json={"name": "Bard"}, headers=owner)
        assert renamed.json()["name"] == "Bard"
        assert (await chat_client.delete(url, headers=owner)).status_code == 204
        assert (await chat_client.get(url, headers=owner)).status_code == 404

    async def test_system_agents_are_made_and_changed_by_staff_and_used_by_everyone(
        self, chat_client: httpx.AsyncClient, user: Headers
    ) -> None:
        staff, member = user(staff=True), user()
        refused = await chat_client.post(
            "/api/agents", json={**POET, "scope": "system"}, headers=member
        )
        assert refused.status_code == 403
        librarian = await make_agent(chat_client, staff, handle="librarian", scope="system")
        assert "librarian" in [
            a["handle"]
            for a in (await chat_client.get("/api/agents", headers=member)).json()["data"]
        ]
        url = f"/api/agents/{librarian['id']}"
        assert (await chat_client.patch(url, json={"name": "x"}, headers=member)).status_code == 403
        assert (
            await chat_client.patch(url, json={"name": "Books"}, headers=staff)
        ).status_code == 200
        assistant_id = (await chat_client.get("/api/agents", headers=staff)).json()["data"][0]["id"]
        built_in = await chat_client.delete(f"/api/agents/{assistant_id}", headers=staff)
        assert built_in.status_code == 409
        assert (await chat_client.delete(url, headers=staff)).status_code == 204

    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"handle": "Poet"}, "handle"),
            ({"handle": "p"}, "handle"),
            ({"handle": "assistant"}, "handle"),
            ({"name": ""}, "name"),
            ({"name": "n" * 65}, "name"),
            ({"temperature": 3}, "temperature"),
            ({"model": "no-such-model"}, "model"),
            ({"instructions": "x" * 8001}, "instructions"),
            ({"scope": "workspace"}, "workspace_id"),  # a workspace agent names its workspace
        ],
    )
    async def test_bad_input_is_a_422_on_its_field(
        self, chat_client: httpx.AsyncClient, user: Headers, fields: dict[str, object], field: str
    ) -> None:
        response = await chat_client.post("/api/agents", json={**POET, **fields}, headers=user())
        assert response.status_code == 422, response.text
        assert field in response.json()["errors"]

    async def test_a_handle_is_unique_for_its_owner(
        self, chat_client: httpx.AsyncClient, user: Headers
    ) -> None:
        owner = user()
        await make_agent(chat_client, owner)
        again = await chat_client.post("/api/agents", json=POET, headers=owner)
        assert again.status_code == 422
        assert "handle" in again.json()["errors"]
        await make_agent(chat_client, user())  # another user's poet is another agent


class TestAddressing:
    async def test_a_mention_chooses_the_agent_and_leaves_the_model_the_rest(
        self,
        chat_client: httpx.AsyncClient,
        user: Headers,
        internal: dict[str, str],
        redis_server: RedisServer,
    ) -> None:
        headers = user()
        poet = await make_agent(chat_client, headers, model="other-model")
        created = await chat_client.post(
            "/api/dialogs", json={"message_text": "@poet write about the sea"}, headers=headers
        )
        message = created.json()["message"]
        assert message["agent"] == {
            "id": poet["id"],
            "handle": "poet",
            "name": "Poet",
            "avatar_url": None,
        }
        assert message["model"] == "other-model"  # the agent's model
        assert message["message_text"] == "@poet write about the sea"  # kept as written
        job = queued_job(redis_server, message["id"])
        assert (job["model"], job["temperature"]) == ("other-model", 0.9)
        assert job["messages"] == [
            {"role": "system", "content": "Answer in rhyming couplets."},
            {"role": "user", "content": "write about the sea"},
        ]
        await answer(chat_client, internal, message["id"], "The sea, the sea")
        # the next message goes to the assistant, which sees the poet's answer by name
        dialog_id = created.json()["id"]
        follow = await chat_client.post(
            f"/api/dialogs/{dialog_id}/messages",
            json={"message_text": "@nobody explain that"},  # not an agent: plain text
            headers=headers,
        )
        assert follow.json()["agent"]["handle"] == "assistant"
        job = queued_job(redis_server, follow.json()["id"])
        assert job["model"] == "parley-demo"
        assert job["messages"] == [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "@poet write about the sea"},
            {"role": "assistant", "content": "The sea, the sea", "name": "poet"},
            {"role": "user", "content": "@nobody explain that"},
        ]

    async def test_a_dialogs_agent_and_instructions_answer_what_names_nobody(
        self, chat_client: httpx.AsyncClient, user: Headers, redis_server: RedisServer
    ) -> None:
        headers = user()
        poet = await make_agent(chat_client, headers)
        created = await chat_client.post(
            "/api/dialogs",
            json={
                "agent_id": poet["id"],
                "instructions": "Keep it short.",
                "message_text": "a question",
            },
            headers=headers,
        )
        assert created.status_code == 201, created.text
        assert created.json()["agent_id"] == poet["id"]
        message = created.json()["message"]
        assert message["agent"]["handle"] == "poet"
        assert queued_job(redis_server, message["id"])["messages"] == [
            {"role": "system", "content": "Answer in rhyming couplets."},
            {"role": "system", "content": "Keep it short."},
            {"role": "user", "content": "a question"},
        ]

    async def test_an_agent_the_caller_may_not_use_is_a_422_on_agent_id(
        self, chat_client: httpx.AsyncClient, user: Headers, redis_server: RedisServer
    ) -> None:
        someone_elses = await make_agent(chat_client, user())
        headers = user()
        dialog = (await chat_client.post("/api/dialogs", json={}, headers=headers)).json()
        for path, body in (
            (f"/api/dialogs/{dialog['id']}/messages", {"message_text": "hi"}),
            ("/api/dialogs", {}),
        ):
            response = await chat_client.post(
                path, json={**body, "agent_id": someone_elses["id"]}, headers=headers
            )
            assert response.status_code == 422, path
            assert "agent_id" in response.json()["errors"]
        # @assistant addresses the built-in one, and the model gets the rest
        addressed = await chat_client.post(
            f"/api/dialogs/{dialog['id']}/messages",
            json={"message_text": "@assistant hello"},
            headers=headers,
        )
        assert addressed.json()["agent"]["handle"] == "assistant"
        assert queued_job(redis_server, addressed.json()["id"])["messages"][-1] == {
            "role": "user",
            "content": "hello",
        }
        # and another user's @handle is plain text for this user: the assistant answers
        mentioned = await chat_client.post(
            f"/api/dialogs/{dialog['id']}/messages",
            json={"message_text": "@poet hello"},
            headers=headers,
        )
        assert mentioned.json()["agent"]["handle"] == "assistant"


def png(width: int, height: int) -> bytes:
    from io import BytesIO

    from PIL import Image

    out = BytesIO()
    Image.new("RGB", (width, height), (200, 80, 40)).save(out, "PNG")
    return out.getvalue()


class TestAgentAvatars:
    async def test_an_avatar_is_uploaded_shown_served_and_removed_by_its_owner(
        self, chat_client: httpx.AsyncClient, user: Headers
    ) -> None:
        owner, stranger = user(), user()
        poet = await make_agent(chat_client, owner)
        url = f"/api/agents/{poet['id']}/avatar"
        files = {"file": ("poet.png", png(96, 48), "image/png")}
        assert (await chat_client.put(url, files=files, headers=stranger)).status_code == 404
        uploaded = await chat_client.put(url, files=files, headers=owner)
        assert uploaded.status_code == 200, uploaded.text
        avatar_url = uploaded.json()["avatar_url"]
        assert avatar_url.startswith("http://localhost:8000/api/agents/avatars/")
        served = await chat_client.get(avatar_url.removeprefix("http://localhost:8000"))
        assert served.status_code == 200
        assert served.headers["content-type"] == "image/webp"
        assert served.content[:4] == b"RIFF"  # re-encoded, whatever was sent
        # a message the agent answers carries it
        created = await chat_client.post(
            "/api/dialogs", json={"message_text": "@poet hello"}, headers=owner
        )
        assert created.json()["message"]["agent"]["avatar_url"] == avatar_url
        removed = await chat_client.delete(url, headers=owner)
        assert removed.json()["avatar_url"] is None
        gone = await chat_client.get(avatar_url.removeprefix("http://localhost:8000"))
        assert gone.status_code == 404

    async def test_a_file_that_is_no_image_is_a_422_on_file(
        self, chat_client: httpx.AsyncClient, user: Headers
    ) -> None:
        owner = user()
        poet = await make_agent(chat_client, owner)
        refused = await chat_client.put(
            f"/api/agents/{poet['id']}/avatar",
            files={"file": ("x.png", b"<svg onload=alert(1)>", "image/png")},
            headers=owner,
        )
        assert refused.status_code == 422
        assert "file" in refused.json()["errors"]
