"""`/v1/chat/completions` and `/v1/models` in chat: a completion is a job like a message (the
worker's answer is simulated through the internal callback here; tests/e2e/test_openai_api.py
runs the real worker with the official SDK), and errors take OpenAI's shape."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from sqlmodel import select

from chat_service.models import Dialog, Message

Headers = Callable[..., dict[str, str]]
BODY = {"model": "parley-demo", "messages": [{"role": "user", "content": "hello"}]}


async def answer_when_posted(
    client: httpx.AsyncClient, internal: dict[str, str], user_id: str
) -> str:
    """Play the worker: wait for the user's completion message, then store its answer."""
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    for _ in range(200):
        async with runtime.db.session() as session:
            found = (
                await session.exec(select(Message).where(Message.user_id == uuid.UUID(user_id)))
            ).first()
        if found is not None:
            done = await client.post(
                f"/internal/messages/{found.id}/answer",
                json={
                    "generation": 1,
                    "status": "completed",
                    "answer_text": "hi there",
                    "usage": {"prompt_tokens": 4, "completion_tokens": 2},
                },
                headers=internal,
            )
            assert done.status_code == 200, done.text
            return str(found.id)
        await asyncio.sleep(0.02)
    raise AssertionError("no completion was posted")


def user_of(headers: dict[str, str]) -> str:
    payload = headers["Authorization"].split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "==="))["sub"])


async def test_a_completion_is_a_queued_job_answered_by_the_worker(
    chat_client: httpx.AsyncClient, user: Headers, internal: dict[str, str]
) -> None:
    me = user()
    worker = asyncio.create_task(answer_when_posted(chat_client, internal, user_of(me)))
    response = await chat_client.post("/v1/chat/completions", json=BODY, headers=me)
    message_id = await worker
    assert response.status_code == 200, response.text
    completion = response.json()
    assert completion["id"] == f"chatcmpl-{uuid.UUID(message_id).hex}"
    assert completion["object"] == "chat.completion"
    assert completion["choices"][0]["message"] == {"role": "assistant", "content": "hi there"}
    assert completion["usage"] == {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}
    # one exchange in a hidden dialog: polled like any message, never listed
    polled = await chat_client.get(f"/api/messages/{message_id}", headers=me)
    assert polled.json()["message_text"] == "hello"
    assert (await chat_client.get("/api/dialogs", headers=me)).json()["data"] == []
    runtime = chat_client.app.state.runtime  # type: ignore[attr-defined]
    async with runtime.db.session() as session:
        dialog = await session.get(Dialog, uuid.UUID(polled.json()["dialog_id"]))
    assert dialog is not None
    assert dialog.hidden


async def test_errors_take_openais_shape(chat_client: httpx.AsyncClient, user: Headers) -> None:
    me = user()
    cases: list[tuple[dict[str, Any], int, str | None, str]] = [
        ({**BODY, "model": "gpt-9"}, 404, None, "model_not_found"),
        ({**BODY, "messages": []}, 400, "messages", "validation_error"),
        ({**BODY, "temperature": 7}, 400, "temperature", "validation_error"),
        (
            {"model": "parley-demo", "messages": [{"role": "robot", "content": "x"}]},
            400,
            "messages.0.role",
            "validation_error",
        ),
    ]
    for body, status, param, code in cases:
        response = await chat_client.post("/v1/chat/completions", json=body, headers=me)
        assert response.status_code == status, response.text
        error = response.json()["error"]
        assert (error["param"], error["code"]) == (param, code)
        assert error["type"] == "invalid_request_error"
    unauthenticated = await chat_client.get("/v1/models")
    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["error"]["type"] == "authentication_error"
    runtime = chat_client.app.state.runtime  # type: ignore[attr-defined]
    async with runtime.db.session() as session:
        stored = (
            await session.exec(select(Message).where(Message.user_id == uuid.UUID(user_of(me))))
        ).all()
    assert stored == []  # nothing stored for a refused call


async def test_models(chat_client: httpx.AsyncClient, user: Headers) -> None:
    listed = (await chat_client.get("/v1/models", headers=user())).json()
    assert listed["object"] == "list"
    assert [m["id"] for m in listed["data"]] == ["parley-demo", "other-model", "@assistant"]
    one = await chat_client.get("/v1/models/other-model", headers=user())
    assert one.json() == {
        "id": "other-model",
        "object": "model",
        "created": 0,
        "owned_by": "openai",
    }


async def test_an_answer_stored_without_its_final_stream_entry_still_ends_the_call(
    chat_client: httpx.AsyncClient, user: Headers, monkeypatch: Any
) -> None:
    """The stream's last entry can be lost with Redis; the stored outcome then ends the call."""
    from chat_service.openai_api import endpoints

    monkeypatch.setattr(endpoints, "KEEP_ALIVE_SECONDS", 0.2)
    me = user()
    runtime = chat_client.app.state.runtime  # type: ignore[attr-defined]

    async def store_quietly() -> None:  # as a callback whose final stream entry never landed
        for _ in range(200):
            async with runtime.db.session() as session:
                found = (
                    await session.exec(
                        select(Message).where(Message.user_id == uuid.UUID(user_of(me)))
                    )
                ).first()
                if found is not None:
                    found.status, found.answer_text = "completed", "quiet answer"
                    session.add(found)
                    await session.commit()
                    return
            await asyncio.sleep(0.02)

    quiet = asyncio.create_task(store_quietly())
    response = await asyncio.wait_for(
        chat_client.post("/v1/chat/completions", json=BODY, headers=me), timeout=10
    )
    await quiet
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "quiet answer"


async def test_a_refused_response_names_its_field_and_stores_nothing(
    chat_client: httpx.AsyncClient, user: Headers
) -> None:
    me = user()
    image = [{"role": "user", "content": [{"type": "input_image", "image_url": "x"}]}]
    cases: list[tuple[dict[str, Any], int, str | None, str]] = [
        (
            {"model": "parley-demo", "input": image},
            400,
            "input.0.content.0.type",
            "validation_error",
        ),
        ({"model": "parley-demo", "input": []}, 400, "input", "validation_error"),
        (
            {"input": "x", "conversation": "conv_nope"},
            400,
            "conversation",
            "conversation_not_found",
        ),
        (
            {"input": "x", "previous_response_id": "resp_" + "0" * 32},
            400,
            "previous_response_id",
            "previous_response_not_found",
        ),
        (
            {"input": "x", "metadata": {str(i): "v" for i in range(17)}},
            400,
            "metadata",
            "validation_error",
        ),
        ({"model": "@nobody", "input": "x"}, 404, None, "model_not_found"),
    ]
    for body, status, param, code in cases:
        response = await chat_client.post("/v1/responses", json=body, headers=me)
        assert response.status_code == status, response.text
        error = response.json()["error"]
        assert (error["param"], error["code"]) == (param, code), error
    someone_else = await chat_client.get(f"/v1/responses/resp_{uuid.uuid4().hex}", headers=me)
    assert someone_else.status_code == 404
    runtime = chat_client.app.state.runtime  # type: ignore[attr-defined]
    async with runtime.db.session() as session:
        stored = (
            await session.exec(select(Dialog).where(Dialog.user_id == uuid.UUID(user_of(me))))
        ).all()
    assert stored == []
