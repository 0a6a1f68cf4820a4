"""Answers under faults, through the gateway, with a real worker process and a test model that
misbehaves on command. Each must end with the message answered once or clearly failed."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg2
import pytest
from prometheus_client.parser import text_string_to_metric_families

from parley.stack import Ports
from parley_testing.model_server import ModelServer, tokens

from .conftest import Stack

pytestmark = pytest.mark.e2e
REPLY = " ".join(f"word{i}" for i in range(40))


def signed_in(stack: Stack) -> tuple[httpx.Client, dict[str, str]]:
    api = stack.client()
    return api, registered(api)


def registered(api: httpx.Client) -> dict[str, str]:
    """The headers of a newly registered user (email not confirmed)."""
    tag = uuid.uuid4().hex[:8]
    response = api.post(
        "/api/auth/register",
        json={
            "email": f"a-{tag}@example.com",
            "username": f"a_{tag}",
            "password": "correct horse 42",
        },
        headers={"Parley-Token-Transport": "body"},
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def post(
    api: httpx.Client, auth: dict[str, str], text: str = "hello", **headers: str
) -> dict[str, Any]:
    dialog = api.post("/api/dialogs", json={}, headers=auth).json()
    response = api.post(
        f"/api/dialogs/{dialog['id']}/messages",
        json={"message_text": text},
        headers={**auth, **headers},
    )
    assert response.status_code == 202, response.text
    return response.json()  # type: ignore[no-any-return]


def wait_ended(
    api: httpx.Client, auth: dict[str, str], message_id: str, timeout: float = 30
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = api.get(f"/api/messages/{message_id}", headers=auth).json()
        if message["status"] in ("completed", "failed", "cancelled"):
            return message  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise TimeoutError(f"message {message_id} still {message['status']} after {timeout}s")


def sse(
    api: httpx.Client,
    auth: dict[str, str],
    message_id: str,
    last_event_id: str | None = None,
    stop_after: int | None = None,
) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(id, event, data) for each event of the answer stream; ends at done/error."""
    headers = {**auth, **({"Last-Event-ID": last_event_id} if last_event_id else {})}
    with api.stream(
        "GET", f"/api/messages/{message_id}/stream", headers=headers, timeout=30
    ) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-accel-buffering"] == "no"
        event: dict[str, str] = {}
        seen = 0
        for line in response.iter_lines():
            if line.startswith(":"):
                continue
            if line == "":
                if "event" in event:
                    yield event.get("id", ""), event["event"], json.loads(event["data"])
                    seen += 1
                    if event["event"] in ("done", "error") or (stop_after and seen >= stop_after):
                        return
                event = {}
                continue
            name, _, value = line.partition(": ")
            event[name] = value


def resumed_events(
    stack: Stack, auth: dict[str, str], message_id: str
) -> list[tuple[str, str, dict[str, Any]]]:
    """The whole answer stream, reconnecting with Last-Event-ID each time it is cut off."""
    events: list[tuple[str, str, dict[str, Any]]] = []
    with stack.client() as api:
        for _ in range(100):
            try:
                last = events[-1][0] if events else None
                for event in sse(api, auth, message_id, last_event_id=last):
                    events.append(event)
            except (httpx.HTTPError, AssertionError):
                pass  # cut off, or refused while Redis is away: come back shortly
            if events and events[-1][1] in ("done", "error"):
                return events
            time.sleep(0.2)
    raise TimeoutError(f"the stream of {message_id} never ended")


def requests_for(model: ModelServer, text: str) -> int:
    """How many times the model was asked to answer `text` (other tests' leftovers excluded)."""
    return sum(1 for r in model.requests if r["messages"][-1]["content"] == text)


def text_of(events: list[tuple[str, str, dict[str, Any]]]) -> str:
    text = ""
    for _, kind, data in events:
        if kind == "reset":
            text = ""
        elif kind == "delta":
            text += data["text"]
    return text


def kill_the_worker_mid_answer(stack: Stack, model: ModelServer) -> None:
    """SIGKILL the llm-worker while it streams an answer: the job comes back (`parley up`
    restarts the worker), which waits out the dead copy's lease, says `reset` and answers again
    from the start. One answer is stored, and the model was asked twice."""
    model.behaviour.reply = REPLY
    model.behaviour.token_delay = 0.05
    api, auth = signed_in(stack)
    question = f"survive a crash {uuid.uuid4()}"
    message = post(api, auth, question)
    list(sse(api, auth, message["id"], stop_after=5))  # the answer is streaming
    os.kill(stack.pid("llm-worker"), signal.SIGKILL)
    model.behaviour.token_delay = 0
    events = list(sse(api, auth, message["id"]))
    stored = wait_ended(api, auth, message["id"], timeout=60)
    assert (stored["status"], stored["answer_text"]) == ("completed", REPLY), stored
    assert any(kind == "reset" for _, kind, _ in events)
    assert text_of(events) == REPLY
    assert requests_for(model, question) == 2


class TestStreaming:
    def test_stream_gives_the_answer_token_by_token(self, stack: Stack, model: ModelServer) -> None:
        model.behaviour.reply = REPLY
        model.behaviour.token_delay = 0.01
        api, auth = signed_in(stack)
        message = post(api, auth)
        events = list(sse(api, auth, message["id"]))
        assert events[-1][1] == "done"
        assert events[-1][2]["message"]["status"] == "completed"
        assert text_of(events) == REPLY
        assert sum(1 for _, kind, _ in events if kind == "delta") > 1
        ids = [event_id for event_id, kind, _ in events]
        assert ids == sorted(ids, key=lambda i: tuple(int(p) for p in i.split("-")))

    def test_resume_with_last_event_id_has_no_gap_and_no_duplicate(
        self, stack: Stack, model: ModelServer
    ) -> None:
        model.behaviour.reply = REPLY
        model.behaviour.token_delay = 0.03
        api, auth = signed_in(stack)
        message = post(api, auth)
        first = list(sse(api, auth, message["id"], stop_after=3))
        assert len(first) == 3
        rest = list(sse(api, auth, message["id"], last_event_id=first[-1][0]))
        assert rest[-1][1] == "done"
        assert text_of(first + rest) == REPLY
        assert not {e[0] for e in first} & {e[0] for e in rest}

    def test_idle_stream_is_kept_open_with_pings(self, stack: Stack, model: ModelServer) -> None:
        model.behaviour.first_token_delay = 2.5
        model.behaviour.reply = "late but here"
        api, auth = signed_in(stack)
        message = post(api, auth)
        lines = []
        with api.stream("GET", f"/api/messages/{message['id']}/stream", headers=auth) as response:
            for line in response.iter_lines():
                lines.append(line)
                if line.startswith("event: done"):
                    break
        assert lines.count(": ping") >= 2  # one a second (PARLEY_SSE_PING_SECONDS=1) while waiting
        assert lines.index(": ping") < next(i for i, x in enumerate(lines) if x == "event: delta")

    def test_ended_message_gives_a_single_done(self, stack: Stack, model: ModelServer) -> None:
        api, auth = signed_in(stack)
        message = post(api, auth)
        wait_ended(api, auth, message["id"])
        events = list(sse(api, auth, message["id"]))
        assert [kind for _, kind, _ in events] == ["done"]
        assert events[0][2]["message"]["status"] == "completed"

    async def test_hundreds_of_streams_at_once_each_get_the_whole_answer(
        self, stack: Stack, model: ModelServer
    ) -> None:
        # More open streams than a Redis connection pool holds (redis-py's default is 100):
        # every one must still stream its whole answer, and every POST and stream open (each
        # checked against Redis by the gateway) must succeed.
        model.behaviour.reply = REPLY
        # 20 answers at a time: most streams wait a while; an answer lasts 1.6 s, longer than a
        # POST of this burst takes on a loaded machine, so few end before their stream opens
        model.behaviour.token_delay = 0.04
        users, per_user = 60, 3  # 3: the unconfirmed-email quota
        with stack.client() as sign_up:
            auths = [registered(sign_up) for _ in range(users)]
        limits = httpx.Limits(max_connections=500, max_keepalive_connections=500)
        streamed = 0
        async with httpx.AsyncClient(base_url=stack.url, timeout=60, limits=limits) as api:

            async def one(auth: dict[str, str]) -> tuple[str, str]:
                """(the text of the deltas streamed, the answer in the final `done`)"""
                nonlocal streamed
                created = await api.post(
                    "/api/dialogs", json={"message_text": "many"}, headers=auth
                )
                assert created.status_code == 201, created.text
                message_id = created.json()["message"]["id"]
                text, last, final = "", "", ""
                async with api.stream(
                    "GET", f"/api/messages/{message_id}/stream", headers=auth
                ) as response:
                    assert response.status_code == 200, await response.aread()
                    async for line in response.aiter_lines():
                        name, _, value = line.partition(": ")
                        if name == "event":
                            last = value
                        elif name == "data" and last == "delta":
                            text += json.loads(value)["text"]
                        elif name == "data" and last == "reset":
                            text = ""
                        elif name == "data" and last == "done":
                            final = json.loads(value)["message"]["answer_text"]
                assert last == "done", f"the stream of {message_id} ended after {last!r}"
                # an answer that ended before its stream opened comes as a single `done`
                streamed += bool(text)
                return text or final, final

            answers = await asyncio.gather(*(one(a) for a in auths for _ in range(per_user)))
        assert answers == [(REPLY, REPLY)] * (users * per_user)
        assert streamed > 120  # most were streamed, not ended before they were opened

    async def test_answers_under_way_poll_as_generating_and_chat_hears_each_once(
        self, stack: Stack, model: ModelServer
    ) -> None:
        # While an answer runs its worker holds the lease in Redis, and chat shows it as
        # `generating`; the worker calls chat once per answer, with the outcome.
        model.behaviour.reply = REPLY
        model.behaviour.token_delay = 0.05  # 2 s answers
        count = 20  # the e2e worker's concurrency: all of them run at once
        api = stack.client()
        auths = [registered(api) for _ in range(count)]  # one message each: the email quota
        before = internal_calls(stack)
        async with httpx.AsyncClient(base_url=stack.url, timeout=30) as client:
            created = await asyncio.gather(
                *(
                    client.post("/api/dialogs", json={"message_text": "now"}, headers=a)
                    for a in auths
                )
            )
        ids = [c.json()["message"]["id"] for c in created]

        def statuses() -> set[str]:
            return {
                api.get(f"/api/messages/{i}", headers=a).json()["status"]
                for i, a in zip(ids, auths, strict=True)
            }

        deadline = time.monotonic() + 10
        while statuses() != {"generating"}:
            assert time.monotonic() < deadline, "not every answer was shown as generating"
            time.sleep(0.05)
        for message_id, auth in zip(ids, auths, strict=True):
            assert wait_ended(api, auth, message_id)["answer_text"] == REPLY
        assert internal_calls(stack) - before == count

    def test_a_message_committed_after_its_worker_began_is_shown_generating(
        self, stack: Stack, model: ModelServer, database_backend: str
    ) -> None:
        # Chat queues the job before its commit lands; under load that commit can come after
        # the worker began. Pollers see `generating` as soon as the message exists (from the
        # worker's lease), not `queued` until the answer ends.
        if database_backend != "postgres":
            pytest.skip("holds a row lock from outside chat, which needs PostgreSQL")
        model.behaviour.reply = REPLY
        model.behaviour.token_delay = 0.15  # a 6 s answer
        api, auth = signed_in(stack)
        dialog = api.post("/api/dialogs", json={}, headers=auth).json()
        locker = psycopg2.connect(stack.env["CHAT_DATABASE_URL"].replace("+asyncpg", ""))
        try:
            with locker.cursor() as cursor:  # the POST's transaction waits for this row
                cursor.execute("SELECT 1 FROM dialog WHERE id = %s FOR UPDATE", (dialog["id"],))
            with ThreadPoolExecutor(1) as pool:
                posting = pool.submit(
                    api.post,
                    f"/api/dialogs/{dialog['id']}/messages",
                    json={"message_text": "late commit"},
                    headers=auth,
                )
                # the worker runs the job meanwhile
                time.sleep(1.0)
                assert not posting.done(), "the POST did not wait for the locked row"
                locker.rollback()
                response = posting.result(timeout=10)
        finally:
            locker.close()
        assert response.status_code == 202, response.text
        message_id = response.json()["id"]
        deadline = time.monotonic() + 2
        while (status := api.get(f"/api/messages/{message_id}", headers=auth).json()["status"]) != (
            "generating"
        ):
            assert time.monotonic() < deadline, f"still {status} 2 s after the commit"
            time.sleep(0.05)
        assert wait_ended(api, auth, message_id)["answer_text"] == REPLY


def internal_calls(stack: Stack) -> float:
    """How many calls chat's internal message routes have had (from its /metrics)."""
    port = Ports(int(stack.env["PARLEY_PORT"])).chat
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "parley_http_requests_total"
        and sample.labels.get("route", "").startswith("/internal/messages/")
    )


class TestProviderFaults:
    def test_429_retry_after_is_honoured(self, stack: Stack, model: ModelServer) -> None:
        model.behaviour.fault, model.behaviour.fault_times, model.behaviour.retry_after = (
            "429",
            1,
            1,
        )
        model.behaviour.reply = "after the wait"
        api, auth = signed_in(stack)
        started = time.monotonic()
        message = wait_ended(api, auth, post(api, auth)["id"])
        assert message["status"] == "completed"
        assert message["answer_text"] == "after the wait"
        assert time.monotonic() - started >= 1.0
        assert len(model.requests) == 2

    def test_insufficient_quota_fails_without_retry(self, stack: Stack, model: ModelServer) -> None:
        model.behaviour.fault = "insufficient_quota"
        api, auth = signed_in(stack)
        message = wait_ended(api, auth, post(api, auth)["id"])
        assert message["status"] == "failed"
        assert message["error"]["code"] == "provider_quota"
        assert message["error"]["retryable"] is False
        assert len(model.requests) == 1

    def test_5xx_before_the_first_token_is_retried(self, stack: Stack, model: ModelServer) -> None:
        model.behaviour.fault, model.behaviour.fault_times = "503", 2
        model.behaviour.reply = "third time lucky"
        api, auth = signed_in(stack)
        message = wait_ended(api, auth, post(api, auth)["id"])
        assert (message["status"], message["answer_text"]) == ("completed", "third time lucky")
        assert len(model.requests) == 3

    def test_4xx_fails_readably_without_retry(self, stack: Stack, model: ModelServer) -> None:
        model.behaviour.fault = "400"
        api, auth = signed_in(stack)
        message = wait_ended(api, auth, post(api, auth)["id"])
        assert message["status"] == "failed"
        assert message["error"]["code"] == "provider_rejected"
        assert "400" in message["error"]["message"]
        assert len(model.requests) == 1

    def test_the_providers_own_words_never_reach_the_user(
        self, stack: Stack, model: ModelServer
    ) -> None:
        model.behaviour.fault = "401"
        api, auth = signed_in(stack)
        message = wait_ended(api, auth, post(api, auth)["id"])
        assert message["status"] == "failed"
        assert message["error"]["code"] == "provider_rejected"
        assert "administrator" in message["error"]["message"]
        shown = json.dumps(message)
        for secret in ("sk-proj", "abc1", "org-", "Secret0rgId42", "platform.openai.com"):
            assert secret not in shown

    def test_answers_reuse_the_connection_to_the_provider(
        self, stack: Stack, model: ModelServer
    ) -> None:
        # The SDK leaves the end of the body unread after [DONE], which closed the connection:
        # with a real provider, a new TCP and TLS handshake before every first token.
        api, auth = signed_in(stack)
        for i in range(3):
            message = wait_ended(api, auth, post(api, auth, f"reused {i}")["id"])
            assert message["status"] == "completed"
        assert len(model.client_ports) == 3
        assert len(set(model.client_ports)) == 1

    def test_stream_left_open_after_done_keeps_the_answer(
        self, stack: Stack, model: ModelServer
    ) -> None:
        # a provider should end its stream after [DONE]; one that does not costs the read
        # timeout (PARLEY_LLM_TIMEOUT=3 here), never the answer
        model.behaviour.fault, model.behaviour.reply = "linger", "all of it"
        api, auth = signed_in(stack)
        message = wait_ended(api, auth, post(api, auth)["id"])
        assert (message["status"], message["answer_text"]) == ("completed", "all of it")
        assert len(model.requests) == 1

    @pytest.mark.parametrize(
        ("fault", "code"), [("stall", "provider_timeout"), ("drop", "provider_stream_incomplete")]
    )
    def test_broken_stream_keeps_the_partial_answer(
        self, stack: Stack, model: ModelServer, fault: str, code: str
    ) -> None:
        model.behaviour.reply = REPLY
        model.behaviour.fault, model.behaviour.fault_after_tokens = fault, 3
        api, auth = signed_in(stack)
        message = post(api, auth)
        _, kind, data = list(sse(api, auth, message["id"]))[-1]
        # live readers get `error`; one that connects after the end gets `done` with the message
        error = data if kind == "error" else data["message"]["error"]
        assert error["code"] == code
        stored = wait_ended(api, auth, message["id"])
        assert stored["status"] == "failed"
        assert stored["answer_text"] == "".join(tokens(REPLY)[:3])
        assert stored["error"] == {
            "code": code,
            "message": stored["error"]["message"],
            "retryable": True,
        }


class TestControls:
    def test_cancel_keeps_the_partial_answer_and_closes_upstream_within_a_second(
        self, stack: Stack, model: ModelServer
    ) -> None:
        model.behaviour.reply = REPLY
        model.behaviour.token_delay = 0.2
        api, auth = signed_in(stack)
        message = post(api, auth)
        list(sse(api, auth, message["id"], stop_after=3))
        cancelled_at = time.time()
        response = api.post(f"/api/messages/{message['id']}/cancel", headers=auth)
        assert response.status_code == 202
        assert response.json()["status"] == "cancelled"
        partial = response.json()["answer_text"]
        assert partial
        assert REPLY.startswith(partial)
        deadline = time.monotonic() + 5
        while not model.stream_ends and time.monotonic() < deadline:
            time.sleep(0.05)
        assert model.stream_ends, "the upstream stream was never closed"
        assert model.stream_ends[0]["completed"] is False
        assert model.stream_ends[0]["at"] - cancelled_at < 1.0
        time.sleep(0.5)
        assert wait_ended(api, auth, message["id"])["status"] == "cancelled"
        again = api.post(f"/api/messages/{message['id']}/cancel", headers=auth)
        assert again.status_code == 409

    def test_regenerate_replaces_the_answer(self, stack: Stack, model: ModelServer) -> None:
        model.behaviour.reply = "first answer"
        api, auth = signed_in(stack)
        message = post(api, auth)
        assert wait_ended(api, auth, message["id"])["answer_text"] == "first answer"
        model.behaviour.reply = "second answer"
        # still running when the stream opens (a stream opened after the end gets one `done`)
        model.behaviour.first_token_delay = 0.5
        response = api.post(f"/api/messages/{message['id']}/regenerate", headers=auth)
        assert response.status_code == 202
        assert response.json()["status"] == "queued"
        events = list(sse(api, auth, message["id"]))
        assert text_of(events) == "second answer"
        assert wait_ended(api, auth, message["id"])["answer_text"] == "second answer"

    def test_idempotency_key_creates_one_message(self, stack: Stack, model: ModelServer) -> None:
        api, auth = signed_in(stack)
        dialog = api.post("/api/dialogs", json={}, headers=auth).json()
        key = {"Idempotency-Key": uuid.uuid4().hex}
        first = api.post(
            f"/api/dialogs/{dialog['id']}/messages",
            json={"message_text": "hi"},
            headers={**auth, **key},
        )
        second = api.post(
            f"/api/dialogs/{dialog['id']}/messages",
            json={"message_text": "hi"},
            headers={**auth, **key},
        )
        assert first.status_code == second.status_code == 202
        assert first.json()["id"] == second.json()["id"]
        wait_ended(api, auth, first.json()["id"])
        listed = api.get(f"/api/dialogs/{dialog['id']}/messages", headers=auth).json()["data"]
        assert len(listed) == 1
        assert len(model.requests) == 1

    def test_too_many_open_streams_is_429(self, stack: Stack, model: ModelServer) -> None:
        model.behaviour.reply = REPLY
        model.behaviour.first_token_delay = 5
        api, auth = signed_in(stack)
        message = post(api, auth)
        streams = []
        try:
            for _ in range(5):
                request = api.build_request(
                    "GET", f"/api/messages/{message['id']}/stream", headers=auth
                )
                response = api.send(request, stream=True)
                assert response.status_code == 200
                streams.append(response)
            refused = api.get(f"/api/messages/{message['id']}/stream", headers=auth)
            assert refused.status_code == 429
            assert refused.headers["retry-after"]
        finally:
            for response in streams:
                response.close()


class TestProcessFaults:
    def test_worker_killed_mid_answer_gives_one_answer(
        self, stack: Stack, model: ModelServer
    ) -> None:
        kill_the_worker_mid_answer(stack, model)

    def test_chat_down_at_callback_time_does_not_call_the_model_again(
        self, stack: Stack, model: ModelServer
    ) -> None:
        model.behaviour.reply = "survives"
        model.behaviour.first_token_delay = 1.0
        api, auth = signed_in(stack)
        question = f"chat goes away {uuid.uuid4()}"
        message = post(api, auth, question)
        time.sleep(0.3)
        os.kill(stack.pid("chat"), signal.SIGKILL)  # parley up restarts it
        stored = wait_ended(api, auth, message["id"], timeout=60)
        assert (stored["status"], stored["answer_text"]) == ("completed", "survives")
        assert requests_for(model, question) == 1

    def test_a_job_delivered_too_many_times_fails_instead_of_looping(
        self, stack: Stack, model: ModelServer
    ) -> None:
        model.behaviour.reply = REPLY
        model.behaviour.first_token_delay = 3
        api, auth = signed_in(stack)
        message = post(api, auth, f"doomed {uuid.uuid4()}")
        deadline = time.monotonic() + 10
        while (
            api.get(f"/api/messages/{message['id']}", headers=auth).json()["status"] != "generating"
        ):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        # as if this job had already been handed out (and lost) three times
        stack.redis().set(f"parley:deliveries:{message['id']}:1", 3)
        os.kill(stack.pid("llm-worker"), signal.SIGKILL)
        stored = wait_ended(api, auth, message["id"], timeout=60)
        assert stored["status"] == "failed"
        assert stored["error"]["code"] == "too_many_attempts"

    def test_redis_restarted_mid_answers_each_ends_once(
        self, stack: Stack, model: ModelServer
    ) -> None:
        # Redis holds the answer streams and is the Celery broker: restarted (same data, as a
        # managed Redis fails over) while answers are streaming, every message still ends
        # completed with its whole text, or clearly failed; none stays queued or generating.
        assert stack.redis_server is not None
        model.behaviour.reply = REPLY
        model.behaviour.token_delay = 0.05  # 2 s answers
        api, auth = signed_in(stack)
        question = f"redis restarts {uuid.uuid4()}"
        messages = [post(api, auth, question) for _ in range(3)]
        # a reader that reconnects with Last-Event-ID whenever its stream is cut, as EventSource
        reader = ThreadPoolExecutor(1).submit(resumed_events, stack, auth, messages[0]["id"])
        time.sleep(0.7)
        stack.redis_server.stop()
        time.sleep(0.5)
        stack.redis_server.start()
        stored = [wait_ended(api, auth, m["id"], timeout=90) for m in messages]
        events = reader.result(timeout=60)
        assert events[-1][1] in ("done", "error")
        if stored[0]["status"] == "completed":
            assert text_of(events) == REPLY
        for message in stored:
            assert (message["status"], message["answer_text"]) == ("completed", REPLY) or (
                message["status"] == "failed" and message["error"]["code"]
            ), message
        # the streams give the same end, resumed or not
        for message in stored:
            events = list(sse(api, auth, message["id"]))
            assert events[-1][2]["message"]["status"] == message["status"]
        # and the stack goes on answering
        api, auth = signed_in(stack)
        after = post(api, auth, "after the restart")
        assert wait_ended(api, auth, after["id"], timeout=60)["status"] == "completed"
