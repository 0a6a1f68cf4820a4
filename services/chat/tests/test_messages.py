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
from kit import answers
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


def job_headers(redis_server: RedisServer, message_id: object) -> dict[str, object]:
    """The headers and properties of the queued job for a message (what monitors show)."""
    for item in Redis.from_url(redis_server.url).lrange("llm", 0, -1):
        envelope = json.loads(item)
        if str(message_id) in envelope["headers"].get("kwargsrepr", ""):
            return {"headers": envelope["headers"], "properties": envelope["properties"]}
    raise AssertionError("no queued job shows this message's id")


async def new_dialog(
    client: httpx.AsyncClient, headers: dict[str, str], **body: object
) -> dict[str, object]:
    response = await client.post("/api/dialogs", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def posted_long_ago(rt: Runtime, message_id: object) -> None:
    """Make a message older than the sweep's grace period."""
    async with rt.db.session() as session:
        row = await session.get(Message, uuid.UUID(str(message_id)))
        assert row is not None
        row.created_at = row.created_at - timedelta(seconds=rt.settings.reaper_grace_seconds + 1)
        session.add(row)


def take_lease(redis_server: RedisServer, message_id: object) -> None:
    """What a worker does when it begins an answer: it holds the lease and beats."""
    redis = Redis.from_url(redis_server.url)
    redis.set(answers.lease_key(str(message_id)), "a-worker", ex=30)
    redis.set(answers.heartbeat_key(str(message_id)), int(time.time()))


def ended_mark(redis_server: RedisServer, message_id: object) -> int | None:
    mark = Redis.from_url(redis_server.url).get(answers.ended_key(str(message_id)))
    return None if mark is None else int(mark)


async def statuses(
    client: httpx.AsyncClient, headers: dict[str, str], ids: list[object]
) -> list[str]:
    return [(await client.get(f"/api/messages/{i}", headers=headers)).json()["status"] for i in ids]


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
        # what Celery logs and monitors show of the job: its id, not the conversation
        shown = json.dumps(job_headers(redis_server, message["id"]))
        assert message["id"] in shown
        assert "bubble sort" not in shown

    async def test_context_holds_the_last_exchanges(
        self,
        chat_client: httpx.AsyncClient,
        user: Headers,
        internal: dict[str, str],
        redis_server: RedisServer,
    ) -> None:
        headers = user()
        first = (await new_dialog(chat_client, headers, message_text="first"))["message"]
        assert isinstance(first, dict)
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
        self,
        chat_client: httpx.AsyncClient,
        user: Headers,
        internal: dict[str, str],
        redis_server: RedisServer,
    ) -> None:
        headers = user()
        dialog = await new_dialog(chat_client, headers, message_text="hello")
        message = dialog["message"]
        assert isinstance(message, dict)
        url = f"/internal/messages/{message['id']}"
        take_lease(redis_server, message["id"])
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
        # a copy of the job that comes later sees the generation ended and skips it
        assert ended_mark(redis_server, message["id"]) == 1

    async def test_polls_and_pages_show_generating_from_the_lease(
        self, chat_client: httpx.AsyncClient, user: Headers, redis_server: RedisServer
    ) -> None:
        headers = user()
        dialog = await new_dialog(chat_client, headers, name="three questions")
        ids = []
        for i in range(3):
            posted = await chat_client.post(
                f"/api/dialogs/{dialog['id']}/messages",
                json={"message_text": f"q{i}"},
                headers=headers,
            )
            ids.append(posted.json()["id"])
        take_lease(redis_server, ids[0])
        cancelled = await chat_client.post(f"/api/messages/{ids[1]}/cancel", headers=headers)
        assert cancelled.status_code == 202
        assert await statuses(chat_client, headers, ids) == ["generating", "cancelled", "queued"]
        page = await chat_client.get(f"/api/dialogs/{dialog['id']}/messages", headers=headers)
        assert [m["status"] for m in page.json()["data"]] == ["generating", "cancelled", "queued"]
        assert ended_mark(redis_server, ids[1]) == 1  # the worker skips or stops generation 1
        regenerated = await chat_client.post(f"/api/messages/{ids[1]}/regenerate", headers=headers)
        assert regenerated.status_code == 202  # generation 2, which the mark does not cover
        assert ended_mark(redis_server, ids[1]) == 1
        assert await statuses(chat_client, headers, ids[1:2]) == ["queued"]

    async def test_internal_routes_need_the_internal_token(
        self, chat_client: httpx.AsyncClient, user: Headers
    ) -> None:
        headers = user()
        dialog = await new_dialog(chat_client, headers, message_text="hello")
        message = dialog["message"]
        assert isinstance(message, dict)
        response = await chat_client.post(
            f"/internal/messages/{message['id']}/answer",
            json={"generation": 1, "status": "completed", "answer_text": "forged"},
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
        redis_server: RedisServer,
    ) -> None:
        from chat_service.messages.generation import sweep

        headers = user()
        message = (await new_dialog(chat_client, headers, message_text="will be orphaned"))[
            "message"
        ]
        assert isinstance(message, dict)
        rt = runtime(chat_client)
        grace = rt.settings.reaper_grace_seconds
        await posted_long_ago(rt, message["id"])
        take_lease(redis_server, message["id"])
        redis = Redis.from_url(redis_server.url)
        redis.xadd(answers.stream_key(message["id"]), answers.encode("delta", {"text": "half an"}))
        async with rt.db.session() as session:
            assert await sweep(rt, session) == (0, 0)  # its worker holds the lease
        redis.delete(answers.lease_key(message["id"]))  # the worker died...
        redis.set(answers.heartbeat_key(message["id"]), int(time.time()) - grace + 60)
        async with rt.db.session() as session:
            assert await sweep(rt, session) == (0, 0)  # ...within the grace: a copy may take over
        redis.set(answers.heartbeat_key(message["id"]), int(time.time()) - grace - 1)
        async with rt.db.session() as session:
            requeued, failed = await sweep(rt, session)
        assert failed >= 1
        assert message["id"] not in [j["message_id"] for j in queued_jobs(redis_server)[1:]]
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
        assert ended_mark(redis_server, message["id"]) == 1  # a late copy of its job skips it


class TestCancelAndRegenerate:
    async def test_cancel_while_queued_and_regenerate_rules(
        self,
        chat_client: httpx.AsyncClient,
        user: Headers,
        internal: dict[str, str],
        redis_server: RedisServer,
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
        assert ended_mark(redis_server, message["id"]) == 1  # its job will be skipped
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
        from chat_service.messages.generation import sweep

        dialog = await new_dialog(chat_client, user(), message_text="lost on its way")
        message = dialog["message"]
        assert isinstance(message, dict)
        redis = Redis.from_url(redis_server.url)
        redis.delete("llm")  # the job vanished
        rt = runtime(chat_client)
        async with rt.db.session() as session:
            assert await sweep(rt, session) == (0, 0)  # too young to call lost
        await posted_long_ago(rt, message["id"])
        async with rt.db.session() as session:
            requeued, failed = await sweep(rt, session)
        assert requeued >= 1
        assert [j["message_id"] for j in queued_jobs(redis_server)].count(message["id"]) == 1
        async with rt.db.session() as session:
            await sweep(rt, session)  # not again within the grace period
        assert [j["message_id"] for j in queued_jobs(redis_server)].count(message["id"]) == 1
