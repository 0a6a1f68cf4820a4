from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from redis import Redis
from sqlmodel import func, select

from chat_service.models import Message
from chat_service.runtime import Runtime
from kit.answer_jobs import Job
from parley_testing.redis_server import RedisServer

Headers = Callable[..., dict[str, str]]


def runtime(client: httpx.AsyncClient) -> Runtime:
    return client.app.state.runtime  # type: ignore[attr-defined, no-any-return]


def queued_jobs(redis_server: RedisServer) -> list[dict[str, object]]:
    """The llm.generate_answer tasks waiting in the Redis broker's `llm` list."""
    raw = Redis.from_url(redis_server.url).lrange("llm", 0, -1)
    jobs = []
    for item in raw:
        envelope = json.loads(item)
        assert envelope["headers"]["task"] == "llm.generate_answer"
        import base64

        args, kwargs, _ = json.loads(base64.b64decode(envelope["body"]))
        jobs.append(kwargs)
    return jobs


async def new_dialog(
    client: httpx.AsyncClient, headers: dict[str, str], **body: object
) -> dict[str, object]:
    response = await client.post("/api/dialogs", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def start(
    client: httpx.AsyncClient, internal: dict[str, str], *messages: tuple[object, int]
) -> dict[str, str]:
    """What chat says to a worker that began these (message id, generation) answers."""
    response = await client.post(
        "/internal/messages/start",
        json={"messages": [{"id": str(m), "generation": g} for m, g in messages]},
        headers=internal,
    )
    assert response.status_code == 200, response.text
    return response.json()["messages"]  # type: ignore[no-any-return]


async def started_message(
    client: httpx.AsyncClient, headers: dict[str, str], internal: dict[str, str], text: str
) -> dict[str, object]:
    """A new dialog's first message, taken up by a (pretend) worker: status `generating`."""
    dialog = await new_dialog(client, headers, message_text=text)
    message = dialog["message"]
    assert isinstance(message, dict)
    assert await start(client, internal, (message["id"], 1)) == {message["id"]: "generating"}
    return message


class TestPostMessage:
    async def test_first_message_is_queued_with_its_context(
        self, chat_client: httpx.AsyncClient, user: Headers, redis_server: RedisServer
    ) -> None:
        dialog = await new_dialog(chat_client, user(), message_text="Write bubble sort in Python")
        message = dialog["message"]
        assert isinstance(message, dict)
        assert message["status"] == "queued"
        assert dialog["name"] == "Write bubble sort in Python"
        job = next(j for j in queued_jobs(redis_server) if j["message_id"] == message["id"])
        assert job["messages"] == [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Write bubble sort in Python"},
        ]
        assert job["model"] == "parley-demo"

    async def test_context_holds_the_last_exchanges(
        self,
        chat_client: httpx.AsyncClient,
        user: Headers,
        internal: dict[str, str],
        redis_server: RedisServer,
    ) -> None:
        headers = user()
        first = await started_message(chat_client, headers, internal, "first")
        dialog = {"id": first["dialog_id"]}
        done = await chat_client.post(
            f"/internal/messages/{first['id']}/answer",
            json={"generation": 1, "status": "completed", "answer_text": "first answer"},
            headers=internal,
        )
        assert done.status_code == 200
        second = await chat_client.post(
            f"/api/dialogs/{dialog['id']}/messages",
            json={"message_text": "second"},
            headers=headers,
        )
        assert second.status_code == 202
        job = next(j for j in queued_jobs(redis_server) if j["message_id"] == second.json()["id"])
        assert [m["content"] for m in job["messages"]] == [
            "You are a helpful assistant.",
            "first",
            "first answer",
            "second",
        ]

    async def test_too_long_and_blank_messages_are_field_errors(
        self, chat_client: httpx.AsyncClient, user: Headers
    ) -> None:
        headers = user()
        dialog = await new_dialog(chat_client, headers)
        for text in ("x" * 32_001, "   "):
            response = await chat_client.post(
                f"/api/dialogs/{dialog['id']}/messages",
                json={"message_text": text},
                headers=headers,
            )
            assert response.status_code == 422
            assert "message_text" in response.json()["errors"]

    async def test_unconfirmed_users_have_a_quota(
        self, chat_client: httpx.AsyncClient, user: Headers
    ) -> None:
        headers = user(confirmed=False)
        dialog = await new_dialog(chat_client, headers)
        for _ in range(3):
            ok = await chat_client.post(
                f"/api/dialogs/{dialog['id']}/messages",
                json={"message_text": "hi"},
                headers=headers,
            )
            assert ok.status_code == 202
        refused = await chat_client.post(
            f"/api/dialogs/{dialog['id']}/messages", json={"message_text": "hi"}, headers=headers
        )
        assert refused.status_code == 403
        assert refused.json()["code"] == "email_not_confirmed"

    async def test_broker_down_is_503_and_stores_nothing(
        self, chat_client: httpx.AsyncClient, user: Headers, redis_server: RedisServer
    ) -> None:
        headers = user()
        dialog = await new_dialog(chat_client, headers)
        async with runtime(chat_client).db.session() as session:
            before = (await session.exec(select(func.count()).select_from(Message))).one()
        redis_server.stop()
        try:
            response = await chat_client.post(
                f"/api/dialogs/{dialog['id']}/messages",
                json={"message_text": "hi"},
                headers=headers,
            )
        finally:
            redis_server.start()
        assert response.status_code == 503
        assert response.headers["retry-after"]
        assert response.json()["code"] == "queue_unavailable"
        async with runtime(chat_client).db.session() as session:
            assert (await session.exec(select(func.count()).select_from(Message))).one() == before

    async def test_a_slow_broker_does_not_hold_up_other_writers(
        self, chat_client: httpx.AsyncClient, user: Headers, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # The job is queued before the request's first write: on SQLite a transaction holds the
        # process's only write turn from its first write to its commit.
        jobs = runtime(chat_client).jobs
        publishing, release = asyncio.Event(), asyncio.Event()
        enqueue = jobs.enqueue_answer

        async def slow_enqueue(job: Job) -> None:
            publishing.set()
            await release.wait()
            await enqueue(job)

        monkeypatch.setattr(jobs, "enqueue_answer", slow_enqueue)
        posting = asyncio.create_task(
            chat_client.post("/api/dialogs", json={"message_text": "slow"}, headers=user())
        )
        try:
            await asyncio.wait_for(publishing.wait(), 5)
            async with asyncio.timeout(2):
                meanwhile = await chat_client.post(
                    "/api/dialogs", json={"name": "meanwhile"}, headers=user()
                )
            assert meanwhile.status_code == 201
        finally:
            release.set()
        posted = await posting
        assert posted.status_code == 201, posted.text
        assert posted.json()["message"]["status"] == "queued"


class TestStartUp:
    def test_the_first_message_finds_sending_set_up(
        self, redis_server: RedisServer, tmp_path: Path
    ) -> None:
        # Celery sets sending up on the first send: imports, the result backend, the producer
        # pool, the queue's declaration (100-200 ms the first user would wait). Chat does it at
        # start-up. Seen from a fresh process running chat: once started, sending the first job
        # imports nothing more.
        script = """
import asyncio, json, sys, uuid
from chat_service.main import app
from kit.answer_jobs import Job

async def main():
    async with app.router.lifespan_context(app):
        # the warm-up runs in the background: the first message may come before it ends
        await asyncio.gather(*(t for t in asyncio.all_tasks() if t.get_name() == "warm-up sending"))
        before = set(sys.modules)
        job = Job(message_id=uuid.uuid4(), generation=0, model="m", messages=[])
        await app.state.runtime.jobs.enqueue_answer(job)
        print(json.dumps(sorted(set(sys.modules) - before)))

asyncio.run(main())
"""
        broker = f"{redis_server.url.rsplit('/', 1)[0]}/13"
        env = {
            **os.environ,
            "CHAT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}",
            "REDIS_URL": redis_server.url,
            "BROKER_URL": broker,
            "PARLEY_DATA_DIR": str(tmp_path),
            "PARLEY_INTERNAL_TOKEN": "start-up-test-token",
        }
        try:
            done = subprocess.run(
                [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
            )
            assert done.returncode == 0, done.stderr
            assert json.loads(done.stdout.splitlines()[-1]) == []
        finally:
            Redis.from_url(broker).flushdb()


class TestAnswerCallback:
    async def test_answer_is_stored_once(
        self, chat_client: httpx.AsyncClient, user: Headers, internal: dict[str, str]
    ) -> None:
        headers = user()
        dialog = await new_dialog(chat_client, headers, message_text="hello")
        message = dialog["message"]
        assert isinstance(message, dict)
        url = f"/internal/messages/{message['id']}"
        started = await start(chat_client, internal, (message["id"], 1))
        assert started == {message["id"]: "generating"}
        polled = await chat_client.get(f"/api/messages/{message['id']}", headers=headers)
        assert polled.json()["status"] == "generating"
        answer = {
            "generation": 1,
            "status": "completed",
            "answer_text": "hi!",
            "usage": {"total_tokens": 3},
        }
        assert (
            await chat_client.post(f"{url}/answer", json=answer, headers=internal)
        ).status_code == 200
        late = {
            "generation": 1,
            "status": "failed",
            "answer_text": "",
            "error": {"code": "x", "message": "late", "retryable": True},
        }
        again = await chat_client.post(f"{url}/answer", json=late, headers=internal)
        assert again.status_code == 200
        assert again.json()["status"] == "completed"
        polled = (await chat_client.get(f"/api/messages/{message['id']}", headers=headers)).json()
        assert (polled["status"], polled["answer_text"], polled["usage"]) == (
            "completed",
            "hi!",
            {"total_tokens": 3},
        )
        assert polled["completed_at"] is not None
        restart = await start(chat_client, internal, (message["id"], 1))
        assert restart == {message["id"]: "ended"}

    async def test_a_worker_reports_many_begun_answers_in_one_call(
        self, chat_client: httpx.AsyncClient, user: Headers, internal: dict[str, str]
    ) -> None:
        headers = user()
        queued = [
            (await new_dialog(chat_client, headers, message_text=f"q{i}"))["message"]
            for i in range(3)
        ]
        ids = [m["id"] for m in queued]  # type: ignore[index]
        cancelled = await chat_client.post(f"/api/messages/{ids[1]}/cancel", headers=headers)
        assert cancelled.status_code == 202
        unknown = str(uuid.uuid4())
        outcomes = await start(
            chat_client, internal, (ids[0], 1), (ids[1], 1), (ids[2], 2), (unknown, 1)
        )
        assert outcomes == {
            ids[0]: "generating",
            ids[1]: "ended",
            ids[2]: "unknown",  # a newer generation than stored: its commit has not landed
            unknown: "unknown",
        }
        statuses = [
            (await chat_client.get(f"/api/messages/{i}", headers=headers)).json()["status"]
            for i in ids
        ]
        assert statuses == ["generating", "cancelled", "queued"]
        regenerated = await chat_client.post(f"/api/messages/{ids[1]}/regenerate", headers=headers)
        assert regenerated.status_code == 202  # generation 2
        assert await start(chat_client, internal, (ids[1], 1)) == {ids[1]: "superseded"}
        assert await start(chat_client, internal, (ids[1], 2)) == {ids[1]: "generating"}

    async def test_internal_routes_need_the_internal_token(
        self, chat_client: httpx.AsyncClient, user: Headers
    ) -> None:
        headers = user()
        dialog = await new_dialog(chat_client, headers, message_text="hello")
        message = dialog["message"]
        assert isinstance(message, dict)
        response = await chat_client.post(
            "/internal/messages/start",
            json={"messages": [{"id": message["id"], "generation": 1}]},
            headers=headers,
        )
        assert response.status_code == 403


class TestOwnership:
    async def test_another_users_dialog_and_message_are_404(
        self, chat_client: httpx.AsyncClient, user: Headers
    ) -> None:
        owner, stranger = user(), user()
        dialog = await new_dialog(chat_client, owner, message_text="mine")
        message = dialog["message"]
        assert isinstance(message, dict)
        for method, path in [
            ("GET", f"/api/dialogs/{dialog['id']}"),
            ("PATCH", f"/api/dialogs/{dialog['id']}"),
            ("DELETE", f"/api/dialogs/{dialog['id']}"),
            ("GET", f"/api/dialogs/{dialog['id']}/messages"),
            ("POST", f"/api/dialogs/{dialog['id']}/messages"),
            ("GET", f"/api/messages/{message['id']}"),
        ]:
            body = {"message_text": "x", "name": "x"} if method in ("POST", "PATCH") else None
            response = await chat_client.request(method, path, json=body, headers=stranger)
            assert response.status_code == 404, (method, path)
        assert (
            await chat_client.get(f"/api/dialogs/{dialog['id']}", headers=owner)
        ).status_code == 200

    async def test_no_token_is_401(self, chat_client: httpx.AsyncClient) -> None:
        response = await chat_client.get("/api/dialogs")
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"


class TestQueueMetrics:
    async def test_depth_and_oldest_age_of_the_llm_queue(
        self, chat_client: httpx.AsyncClient, user: Headers, redis_server: RedisServer
    ) -> None:
        waiting = len(queued_jobs(redis_server))
        await new_dialog(chat_client, user(), message_text="count me")
        text = (await chat_client.get("/metrics")).text
        depth = next(
            line
            for line in text.splitlines()
            if line.startswith('parley_llm_queue_depth{queue="llm"}')
        )
        assert float(depth.split()[-1]) == waiting + 1
        age = next(
            line
            for line in text.splitlines()
            if line.startswith('parley_llm_queue_oldest_age_seconds{queue="llm"}')
        )
        assert float(age.split()[-1]) > 0


class TestReaper:
    async def test_answers_whose_worker_went_silent_are_failed(
        self,
        chat_client: httpx.AsyncClient,
        user: Headers,
        internal: dict[str, str],
        redis_server: RedisServer,
    ) -> None:
        from chat_service.messages.generation import reap
        from kit import answers

        headers = user()
        message = await started_message(chat_client, headers, internal, "will be orphaned")
        redis = Redis.from_url(redis_server.url)
        redis.xadd(answers.stream_key(message["id"]), answers.encode("delta", {"text": "half an"}))
        grace = runtime(chat_client).settings.reaper_grace_seconds
        redis.set(answers.heartbeat_key(message["id"]), int(time.time()) - grace + 60)
        async with runtime(chat_client).db.session() as session:
            assert await reap(runtime(chat_client), session) == 0  # still within the grace
        redis.set(answers.heartbeat_key(message["id"]), int(time.time()) - grace - 1)
        async with runtime(chat_client).db.session() as session:
            assert await reap(runtime(chat_client), session) >= 1
        polled = (await chat_client.get(f"/api/messages/{message['id']}", headers=headers)).json()
        assert polled["status"] == "failed"
        assert polled["answer_text"] == "half an"
        assert polled["error"] == {
            "code": "worker_lost",
            "message": "The answer stopped; try again.",
            "retryable": True,
        }
        last = redis.xrevrange(answers.stream_key(message["id"]), count=1)[0][1]
        assert answers.decode(last)[0] == "error"


class TestCancelAndRegenerate:
    async def test_cancel_while_queued_and_regenerate_rules(
        self, chat_client: httpx.AsyncClient, user: Headers, internal: dict[str, str]
    ) -> None:
        headers = user()
        dialog = await new_dialog(chat_client, headers, message_text="stop me")
        message = dialog["message"]
        assert isinstance(message, dict)
        busy = await chat_client.post(f"/api/messages/{message['id']}/regenerate", headers=headers)
        assert busy.status_code == 409
        assert busy.json()["code"] == "message_in_progress"
        cancelled = await chat_client.post(f"/api/messages/{message['id']}/cancel", headers=headers)
        assert cancelled.status_code == 202
        assert cancelled.json()["status"] == "cancelled"
        late = await start(chat_client, internal, (message["id"], 1))
        assert late == {message["id"]: "ended"}  # the worker will not start a cancelled answer
        again = await chat_client.post(f"/api/messages/{message['id']}/regenerate", headers=headers)
        assert again.status_code == 202
        assert again.json()["status"] == "queued"
        stale = await chat_client.post(
            f"/internal/messages/{message['id']}/answer",
            json={"generation": 1, "status": "completed", "answer_text": "old"},
            headers=internal,
        )
        assert stale.status_code == 409
        assert stale.json()["code"] == "stale_generation"


class TestStrandedMessages:
    async def test_a_queued_message_whose_job_was_lost_is_queued_again(
        self, chat_client: httpx.AsyncClient, user: Headers, redis_server: RedisServer
    ) -> None:
        from chat_service.messages.generation import requeue_stranded
        from chat_service.models import Message as MessageRow

        dialog = await new_dialog(chat_client, user(), message_text="lost on its way")
        message = dialog["message"]
        assert isinstance(message, dict)
        redis = Redis.from_url(redis_server.url)
        redis.delete("llm")  # the job vanished
        rt = runtime(chat_client)
        async with rt.db.session() as session:
            assert await requeue_stranded(rt, session) == 0  # too young to call lost
            row = await session.get(MessageRow, uuid.UUID(message["id"]))
            assert row is not None
            row.created_at = row.created_at - timedelta(
                seconds=rt.settings.reaper_grace_seconds + 1
            )
            session.add(row)
        async with rt.db.session() as session:
            assert await requeue_stranded(rt, session) >= 1
        assert [j["message_id"] for j in queued_jobs(redis_server)].count(message["id"]) == 1
        async with rt.db.session() as session:
            await requeue_stranded(rt, session)  # not again within the grace period
        assert [j["message_id"] for j in queued_jobs(redis_server)].count(message["id"]) == 1
