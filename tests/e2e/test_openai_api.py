"""The OpenAI-compatible API (§12) with the official `openai` SDK as the client, against the
real processes, signed in with an API key alone: models, chat completions whole and streamed,
usage and budgets shared with the web UI, and errors in OpenAI's shape."""

from __future__ import annotations

import uuid
from typing import Any

import openai
import pytest

from parley_testing.model_server import ModelServer, tokens

from .conftest import Stack
from .test_keys_and_budgets import new_key, staff

pytestmark = pytest.mark.e2e
REPLY = "Parley speaks " + " ".join(f"openai{i}" for i in range(20))


def ask(text: str) -> list[Any]:
    return [{"role": "system", "content": "Be brief."}, {"role": "user", "content": text}]


class TestModels:
    def test_list_and_retrieve(self, program: Any) -> None:
        client = program[0]
        listed = client.models.list()
        assert [m.id for m in listed.data] == ["parley-demo", "@assistant"]
        assert client.models.retrieve("parley-demo").owned_by == "openai"
        with pytest.raises(openai.NotFoundError) as missing:
            client.models.retrieve("gpt-9")
        assert missing.value.code == "model_not_found"


class TestChatCompletions:
    def test_whole_answer_with_the_models_token_counts(
        self, program: Any, model: ModelServer
    ) -> None:
        client, key, api, person = program
        model.behaviour.reply = REPLY
        question = f"count {uuid.uuid4()}"
        completion = client.chat.completions.create(model="parley-demo", messages=ask(question))
        assert completion.id.startswith("chatcmpl-")
        assert completion.choices[0].message.content == REPLY
        assert completion.choices[0].finish_reason == "stop"
        [request] = [r for r in model.requests if r["messages"][-1]["content"] == question]
        assert request["messages"] == ask(question)  # the program's own messages, as sent
        assert completion.usage is not None
        assert completion.usage.prompt_tokens == 2 + 2  # the test model counts words
        assert completion.usage.completion_tokens == len(tokens(REPLY))
        # the same usage as the web UI's, under the key; no chat appears in the sidebar
        usage = api.get("/api/usage", params={"key_id": key["id"]}, headers=person).json()
        assert usage["totals"]["completion_tokens"] == completion.usage.completion_tokens
        assert api.get("/api/dialogs", headers=person).json()["data"] == []

    def test_streamed_with_usage_at_the_end(self, program: Any, model: ModelServer) -> None:
        client = program[0]
        model.behaviour.reply = REPLY
        model.behaviour.token_delay = 0.01
        stream = client.chat.completions.create(
            model="parley-demo",
            messages=ask("stream please"),
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = list(stream)
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text == REPLY
        assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 5
        finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
        assert finishes[-1] == "stop"
        assert chunks[-1].choices == []
        assert chunks[-1].usage is not None
        assert chunks[-1].usage.completion_tokens == len(tokens(REPLY))
        assert len({c.id for c in chunks}) == 1

    def test_a_provider_failure_is_an_openai_error(self, program: Any, model: ModelServer) -> None:
        client = program[0]
        model.behaviour.fault = "400"  # the provider refuses: not retried, the answer fails
        with pytest.raises(openai.APIStatusError) as failed:
            client.chat.completions.create(model="parley-demo", messages=ask("fail"))
        assert failed.value.status_code == 502
        assert isinstance(failed.value.body, dict)
        assert failed.value.body["type"] == "server_error"

    def test_an_agent_answers_as_a_model(self, program: Any, model: ModelServer) -> None:
        client, _, api, person = program
        model.behaviour.reply = REPLY
        made = api.post(
            "/api/agents",
            json={
                "handle": "pirate",
                "name": "Pirate",
                "instructions": "Talk like a pirate.",
                "temperature": 0.2,
            },
            headers=person,
        )
        assert made.status_code == 201, made.text
        assert "@pirate" in [m.id for m in client.models.list().data]
        question = f"ahoy {uuid.uuid4()}"
        completion = client.chat.completions.create(model="@pirate", messages=ask(question))
        assert completion.model == "@pirate"
        assert completion.choices[0].message.content == REPLY
        [request] = [r for r in model.requests if r["messages"][-1]["content"] == question]
        assert request["messages"][0] == {"role": "system", "content": "Talk like a pirate."}
        assert request["messages"][1:] == ask(question)
        assert request["temperature"] == 0.2
        with pytest.raises(openai.NotFoundError):
            client.chat.completions.create(model="@nobody", messages=ask(question))


class TestErrors:
    def test_bad_key_scope_model_and_input(self, stack: Stack, program: Any) -> None:
        client, _, api, person = program
        stranger = openai.OpenAI(
            api_key="pk_" + "x" * 40, base_url=f"{stack.url}/v1", max_retries=0
        )
        with pytest.raises(openai.AuthenticationError) as refused:
            stranger.models.list()
        assert refused.value.code == "invalid_api_key"
        _, reader = new_key(api, person, scopes=["read"])
        read_only = openai.OpenAI(
            api_key=reader["Authorization"].removeprefix("Bearer "),
            base_url=f"{stack.url}/v1",
            max_retries=0,
        )
        assert read_only.models.list().data  # a GET needs only `read`
        with pytest.raises(openai.PermissionDeniedError) as scoped:
            read_only.chat.completions.create(model="parley-demo", messages=ask("hi"))
        assert scoped.value.code == "insufficient_scope"
        with pytest.raises(openai.NotFoundError) as unknown:
            client.chat.completions.create(model="gpt-9", messages=ask("hi"))
        assert unknown.value.code == "model_not_found"
        with pytest.raises(openai.BadRequestError) as bad:
            client.chat.completions.create(model="parley-demo", messages=[])
        assert bad.value.param == "messages"
        with pytest.raises(openai.NotFoundError):
            client.get("/no-such-route", cast_to=object)

    def test_a_spent_budget_is_insufficient_quota(self, stack: Stack, program: Any) -> None:
        client, _, api, person = program
        me = api.get("/api/users/me", headers=person).json()
        admin = staff(stack)
        budget = api.put(
            f"/api/admin/users/{me['id']}/budget", json={"monthly_tokens": 0}, headers=admin
        )
        assert budget.status_code == 200
        with pytest.raises(openai.RateLimitError) as spent:
            client.chat.completions.create(model="parley-demo", messages=ask("more"))
        assert spent.value.code == "insufficient_quota"
        assert spent.value.response.headers["retry-after"]
