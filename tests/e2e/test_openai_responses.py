"""OpenAI's responses, conversations and webhook endpoints (§12) with the official `openai` SDK
as the client, against the real processes: background mode with polling and a webhook
verified by `client.webhooks.unwrap()`, streams resumed after a sequence number, answers made
in a conversation showing in the web UI, and the faults a program must survive."""

from __future__ import annotations

import os
import signal
import time
import uuid
from typing import Any

import openai
import pytest

from parley_testing.model_server import ModelServer, tokens
from parley_testing.waiting import wait_until

from .conftest import Receiver, Stack
from .test_openai_api import REPLY

pytestmark = pytest.mark.e2e
ENDED = ("completed", "failed", "cancelled", "incomplete")


def polled(client: openai.OpenAI, response_id: str, timeout: float = 30) -> Any:
    """Poll as OpenAI's background-mode guide does, until the response ends."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = client.responses.retrieve(response_id)
        if response.status in ENDED:
            return response
        time.sleep(0.1)
    raise TimeoutError(f"{response_id} still {response.status}")


def asked_with(model: ModelServer, text: str) -> list[dict[str, Any]]:
    """The prompts the test model was sent whose last message is `text`."""
    return [r["messages"] for r in model.requests if r["messages"][-1]["content"] == text]


def text_of(events: list[Any]) -> str:
    return "".join(e.delta for e in events if e.type == "response.output_text.delta")


class TestBackgroundMode:
    def test_polled_to_completion_and_announced_by_a_signed_webhook(
        self, program: Any, model: ModelServer, receiver: tuple[Receiver, str]
    ) -> None:
        client = program[0]
        hooks, base = receiver
        path = f"/openai-{uuid.uuid4().hex}"
        endpoint = client.webhooks.create(
            url=base + path, name="answers", event_types=["response.completed"]
        )
        assert endpoint.signing_secret.startswith("whsec_")
        model.behaviour.reply, model.behaviour.token_delay = REPLY, 0.02
        question = f"background {uuid.uuid4()}"
        created = client.responses.create(
            model="parley-demo",
            input=question,
            instructions="Answer in English.",
            background=True,
            metadata={"ticket": "T-1"},
        )
        assert created.id.startswith("resp_")
        assert created.status == "queued"
        assert created.background is True
        [delivery] = hooks.wait_for(1, path)
        event = client.webhooks.unwrap(
            delivery["body"], delivery["headers"], secret=endpoint.signing_secret
        )
        assert event.type == "response.completed"
        assert event.data.id == created.id
        # announced after it is stored: the first poll after the event has the final object
        done = client.responses.retrieve(event.data.id)
        assert done.status == "completed"
        assert done.output_text == REPLY
        assert done.metadata == {"ticket": "T-1"}
        assert done.usage is not None
        assert done.usage.output_tokens == len(tokens(REPLY))
        assert polled(client, created.id).model_dump() == done.model_dump()  # the fallback
        [prompt] = asked_with(model, question)
        assert prompt == [
            {"role": "system", "content": "Answer in English."},
            {"role": "user", "content": question},
        ]
        with pytest.raises(openai.InvalidWebhookSignatureError):
            client.webhooks.unwrap(
                delivery["body"], delivery["headers"], secret="whsec_" + "A" * 32
            )

    def test_cancelled_keeps_the_text_so_far(self, program: Any, model: ModelServer) -> None:
        client = program[0]
        model.behaviour.reply, model.behaviour.token_delay = REPLY, 0.2
        created = client.responses.create(model="parley-demo", input="slowly", background=True)
        wait_until(
            "the answer begun",
            lambda: client.responses.retrieve(created.id).status == "in_progress",
        )
        time.sleep(0.5)
        cancelled = client.responses.cancel(created.id)
        assert cancelled.status == "cancelled"
        final = client.responses.retrieve(created.id)
        assert final.status == "cancelled"
        assert REPLY.startswith(final.output_text)
        with pytest.raises(openai.ConflictError):
            client.responses.cancel(created.id)

    def test_deleted(self, program: Any) -> None:
        client = program[0]
        created = client.responses.create(model="parley-demo", input="forget me")
        assert created.status == "completed"
        deleted = client.responses.delete(created.id)
        assert deleted is None  # the SDK returns nothing for a delete
        with pytest.raises(openai.NotFoundError):
            client.responses.retrieve(created.id)


class TestStreams:
    def test_events_in_order_then_replayed_after_a_sequence_number(
        self, program: Any, model: ModelServer
    ) -> None:
        client = program[0]
        model.behaviour.reply, model.behaviour.token_delay = REPLY, 0.01
        events = list(client.responses.create(model="parley-demo", input="stream", stream=True))
        kinds = [e.type for e in events]
        assert kinds[:4] == [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
        ]
        assert kinds[-4:] == [
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed",
        ]
        assert [e.sequence_number for e in events] == list(range(len(events)))
        assert text_of(events) == REPLY
        assert events[-1].response.output_text == REPLY
        response_id = events[0].response.id
        replayed = list(client.responses.retrieve(response_id, stream=True, starting_after=6))
        assert [(e.sequence_number, e.type) for e in replayed] == [
            (e.sequence_number, e.type) for e in events[7:]
        ]

    def test_a_dropped_connection_resumes_with_no_gap_and_no_duplicate(
        self, program: Any, model: ModelServer
    ) -> None:
        client = program[0]
        model.behaviour.reply, model.behaviour.token_delay = REPLY, 0.05
        first: list[Any] = []
        with client.responses.create(
            model="parley-demo", input="resume", stream=True, background=True
        ) as stream:
            for event in stream:
                first.append(event)
                if len(first) == 7:
                    break  # the connection drops mid-answer
        rest = list(
            client.responses.retrieve(
                first[0].response.id, stream=True, starting_after=first[-1].sequence_number
            )
        )
        numbers = [e.sequence_number for e in first + rest]
        assert numbers == list(range(len(numbers)))
        assert text_of(first + rest) == REPLY
        assert rest[-1].type == "response.completed"


class TestContext:
    def test_previous_response_id_carries_the_exchange_on(
        self, program: Any, model: ModelServer
    ) -> None:
        client = program[0]
        model.behaviour.reply = "Noted."
        first = client.responses.create(
            model="parley-demo", input="My name is Ada.", instructions="Be terse."
        )
        question = f"What is my name? {uuid.uuid4()}"
        second = client.responses.create(
            model="parley-demo", input=question, previous_response_id=first.id
        )
        assert second.previous_response_id == first.id
        [prompt] = asked_with(model, question)
        # the earlier exchange, without its instructions (OpenAI does not carry them over)
        assert prompt == [
            {"role": "user", "content": "My name is Ada."},
            {"role": "assistant", "content": "Noted."},
            {"role": "user", "content": question},
        ]
        with pytest.raises(openai.BadRequestError) as bad:
            client.responses.create(
                model="parley-demo", input="x", previous_response_id="resp_" + "0" * 32
            )
        assert bad.value.param == "previous_response_id"

    def test_a_conversation_is_a_dialog_of_the_web_ui_both_ways(
        self, program: Any, model: ModelServer
    ) -> None:
        client, _, api, person = program
        model.behaviour.reply = "From the model."
        conversation = client.conversations.create(metadata={"title": "Planning"})
        assert conversation.id.startswith("conv_")
        made = client.responses.create(
            model="parley-demo", input="Plan the week.", conversation=conversation.id
        )
        assert made.conversation is not None
        assert made.conversation.id == conversation.id
        # the web UI lists it as a dialog, with the exchange in it
        [dialog] = api.get("/api/dialogs", headers=person).json()["data"]
        assert dialog["name"] == "Planning"
        assert conversation.id == f"conv_{uuid.UUID(dialog['id']).hex}"
        messages = api.get(f"/api/dialogs/{dialog['id']}/messages", headers=person).json()["data"]
        assert [(m["message_text"], m["answer_text"]) for m in messages] == [
            ("Plan the week.", "From the model.")
        ]
        # a message written in the web UI, then the program goes on: it sees both exchanges
        posted = api.post(
            f"/api/dialogs/{dialog['id']}/messages",
            json={"message_text": "Add Friday."},
            headers=person,
        )
        assert posted.status_code == 202
        wait_until(
            "the web UI's answer",
            lambda: (
                api.get(f"/api/messages/{posted.json()['id']}", headers=person).json()["status"]
                == "completed"
            ),
        )
        question = f"Summarise. {uuid.uuid4()}"
        client.responses.create(model="parley-demo", input=question, conversation=conversation.id)
        [prompt] = asked_with(model, question)
        assert [m["content"] for m in prompt] == [
            "Plan the week.",
            "From the model.",
            "Add Friday.",
            "From the model.",
            question,
        ]
        items = client.conversations.items.list(conversation.id, order="asc", limit=4)
        assert [(i.role, i.content[0].text) for i in items.data] == [
            ("user", "Plan the week."),
            ("assistant", "From the model."),
            ("user", "Add Friday."),
            ("assistant", "From the model."),
        ]
        assert items.has_more is True
        every = list(client.conversations.items.list(conversation.id, limit=3))  # pages on
        assert len(every) == 6
        assert every[0].role == "assistant"
        assert every[0].content[0].text == "From the model."
        assert every[1].content[0].text == question
        renamed = client.conversations.update(conversation.id, metadata={"title": "Week"})
        assert renamed.metadata == {"title": "Week"}
        assert api.get(f"/api/dialogs/{dialog['id']}", headers=person).json()["name"] == "Week"
        client.conversations.delete(conversation.id)
        with pytest.raises(openai.NotFoundError):
            client.conversations.retrieve(conversation.id)
        assert api.get("/api/dialogs", headers=person).json()["data"] == []

    def test_a_new_conversation_takes_its_items(self, program: Any, model: ModelServer) -> None:
        client = program[0]
        model.behaviour.reply = "Yes."
        conversation = client.conversations.create(
            items=[
                {"type": "message", "role": "developer", "content": "Speak French."},
                {"type": "message", "role": "user", "content": "Bonjour"},
                {"type": "message", "role": "assistant", "content": "Salut"},
            ]
        )
        question = f"Ça va ? {uuid.uuid4()}"
        client.responses.create(model="parley-demo", input=question, conversation=conversation.id)
        [prompt] = asked_with(model, question)
        assert prompt == [
            {"role": "system", "content": "Speak French."},
            {"role": "user", "content": "Bonjour"},
            {"role": "assistant", "content": "Salut"},
            {"role": "user", "content": question},
        ]
        with pytest.raises(openai.BadRequestError) as bad:
            client.conversations.create(items=[{"role": "user", "content": "unanswered"}])
        assert bad.value.param == "items"
        with pytest.raises(openai.BadRequestError) as both:
            client.responses.create(
                model="parley-demo",
                input="x",
                conversation=conversation.id,
                previous_response_id="resp_" + "0" * 32,
            )
        assert both.value.param == "conversation"


class TestFaults:
    def test_a_provider_failing_mid_answer_fails_with_the_partial_text(
        self, program: Any, model: ModelServer
    ) -> None:
        client = program[0]
        model.behaviour.reply = REPLY
        model.behaviour.fault, model.behaviour.fault_after_tokens = "drop", 3
        events = list(client.responses.create(model="parley-demo", input="break", stream=True))
        assert events[-1].type == "response.failed"
        failed = client.responses.retrieve(events[0].response.id)
        assert failed.status == "failed"
        assert failed.error is not None
        assert failed.error.code == "server_error"
        assert failed.output_text == "".join(tokens(REPLY)[:3])
        assert text_of(events) == failed.output_text

    def test_a_worker_killed_mid_answer_still_gives_one_completed_response(
        self, stack: Stack, program: Any, model: ModelServer
    ) -> None:
        client = program[0]
        model.behaviour.reply, model.behaviour.token_delay = REPLY, 0.05
        question = f"survive {uuid.uuid4()}"
        first: list[Any] = []
        with client.responses.create(
            model="parley-demo", input=question, stream=True, background=True
        ) as stream:
            for event in stream:
                first.append(event)
                if len(first) == 8:
                    break
        os.kill(stack.pid("llm-worker"), signal.SIGKILL)  # `parley up` starts another
        model.behaviour.token_delay = 0
        rest = list(
            client.responses.retrieve(
                first[0].response.id, stream=True, starting_after=first[-1].sequence_number
            )
        )
        assert rest[-1].type == "response.completed"
        assert text_of(first + rest) == REPLY
        assert polled(client, first[0].response.id, 60).output_text == REPLY
        assert len(asked_with(model, question)) == 2  # asked again after the kill, stored once


class TestWebhookEndpoints:
    def test_managed_with_the_sdk_and_tested(
        self, program: Any, receiver: tuple[Receiver, str]
    ) -> None:
        client, _, api, person = program
        hooks, base = receiver
        path = f"/managed-{uuid.uuid4().hex}"
        made = client.webhooks.create(
            url=base + path, name="first", event_types=["response.completed"]
        )
        assert made.signing_secret_hint
        assert made.signing_secret.endswith(made.signing_secret_hint[-4:])
        assert [e.id for e in client.webhooks.list()] == [made.id]
        assert client.webhooks.retrieve(made.id).name == "first"
        updated = client.webhooks.update(
            made.id, name="renamed", event_types=["response.completed", "response.failed"]
        )
        assert (updated.name, updated.event_types) == (
            "renamed",
            ["response.completed", "response.failed"],
        )
        rotated = client.webhooks.rotate_secret(made.id)
        assert rotated.signing_secret != made.signing_secret
        result = client.webhooks.test(made.id, event_type="response.completed")
        assert (result.status_code, result.success) == (200, True)
        [delivery] = hooks.wait_for(1, path)
        event = client.webhooks.unwrap(
            delivery["body"], delivery["headers"], secret=rotated.signing_secret
        )
        assert event.type == "response.completed"
        with pytest.raises(openai.InvalidWebhookSignatureError):  # the old one stopped at once
            client.webhooks.unwrap(
                delivery["body"], delivery["headers"], secret=made.signing_secret
            )
        # one machinery: listed with its delivery log at /api/webhooks as well
        log = api.get(f"/api/webhooks/{made.id}/deliveries", headers=person).json()["data"]
        assert [(d["event_type"], d["status"]) for d in log] == [
            ("response.completed", "succeeded")
        ]
        with pytest.raises(openai.BadRequestError) as refused:
            client.webhooks.create(
                url="http://127.0.0.1:22/ssh", name="x", event_types=["response.completed"]
            )
        assert refused.value.param == "url"
        client.webhooks.delete(made.id)
        with pytest.raises(openai.NotFoundError):
            client.webhooks.retrieve(made.id)
