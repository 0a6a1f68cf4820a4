"""One answer job against a real Redis and the test model: the end mark decides what runs."""

from __future__ import annotations

import uuid

import openai
import pytest

from kit import answers
from kit.answer_jobs import Job
from kit.redis_clients import sync_redis
from llm_worker.chat_client import ChatClient
from llm_worker.completion import generate
from llm_worker.inflight import InFlight
from parley_testing.model_server import Behaviour, ModelServer
from parley_testing.redis_server import RedisServer
from parley_testing.servers import serve_asgi


@pytest.mark.parametrize(("ended", "generation"), [(1, 1), (2, 1)])
def test_a_job_of_an_ended_generation_is_skipped_without_asking_the_model(
    redis_server: RedisServer, ended: int, generation: int
) -> None:
    # cancelled while queued (the mark is its generation), or an old copy after a regenerate
    model = ModelServer()
    with serve_asgi(model.app) as url:
        redis = sync_redis(redis_server.url)
        message_id = uuid.uuid4()
        redis.set(answers.ended_key(message_id), ended)
        job = Job(message_id=message_id, generation=generation, model="parley-demo", messages=[])
        outcome = generate(
            job,
            llm=openai.OpenAI(api_key="test", base_url=f"{url}/v1", max_retries=0),
            chat=ChatClient("http://127.0.0.1:9", "token", budget_seconds=0.2),  # never called
            redis=redis,
            inflight=InFlight(redis),
        )
        assert outcome == ("skipped", None)
        assert model.requests == []
        assert not redis.exists(answers.lease_key(message_id))


def test_a_newer_generation_than_the_mark_is_generated(redis_server: RedisServer) -> None:
    model = ModelServer()
    with serve_asgi(model.app) as url:
        redis = sync_redis(redis_server.url)
        message_id = uuid.uuid4()
        redis.set(answers.ended_key(message_id), 1)  # generation 1 ended; a regenerate made 2
        job = Job(
            message_id=message_id,
            generation=2,
            model="parley-demo",
            messages=[{"role": "user", "content": "again"}],
            temperature=0.3,  # an agent's
        )
        status, unsent = generate(
            job,
            llm=openai.OpenAI(api_key="test", base_url=f"{url}/v1", max_retries=0),
            chat=ChatClient("http://127.0.0.1:9", "token", budget_seconds=0.2),  # unreachable
            redis=redis,
            inflight=InFlight(redis),
        )
        [asked] = model.requests
        assert (asked["model"], asked["temperature"]) == ("parley-demo", 0.3)
        # chat could not be told: the answer is kept for the task's retry, not generated again
        assert status == "callback_failed"
        assert unsent is not None
        assert (unsent["generation"], unsent["status"]) == (2, "completed")
        assert unsent["answer_text"]


def test_a_provider_this_worker_does_not_know_fails_the_answer_clearly(
    redis_server: RedisServer,
) -> None:
    # the worker's providers file lacks the provider chat routed the job to
    redis = sync_redis(redis_server.url)
    job = Job(message_id=uuid.uuid4(), generation=1, model="m", messages=[], provider="gone")
    status, unsent = generate(
        job,
        llm=None,
        chat=ChatClient("http://127.0.0.1:9", "token", budget_seconds=0.2),  # unreachable
        redis=redis,
        inflight=InFlight(redis),
    )
    assert status == "callback_failed"  # kept to be sent again, never generated
    assert unsent is not None
    assert (unsent["status"], unsent["error"]["code"], unsent["error"]["retryable"]) == (
        "failed",
        "provider_unknown",
        False,
    )


@pytest.mark.parametrize("reports_usage", [True, False])
def test_tokens_are_the_providers_or_an_estimate_marked_as_such(
    redis_server: RedisServer, reports_usage: bool
) -> None:
    model = ModelServer(Behaviour(reply="one two three four", usage=reports_usage))
    with serve_asgi(model.app) as url:
        redis = sync_redis(redis_server.url)
        prompt = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "count"}]
        job = Job(message_id=uuid.uuid4(), generation=1, model="parley-demo", messages=prompt)
        status, unsent = generate(
            job,
            llm=openai.OpenAI(api_key="test", base_url=f"{url}/v1", max_retries=0),
            chat=ChatClient("http://127.0.0.1:9", "token", budget_seconds=0.2),  # unreachable
            redis=redis,
            inflight=InFlight(redis),
        )
        assert status == "callback_failed"
        assert unsent is not None
        if reports_usage:  # the test model counts words: 3 in the prompt, 4 in the answer
            assert unsent["usage"] == {
                "prompt_tokens": 3,
                "completion_tokens": 4,
                "total_tokens": 7,
            }
        else:  # about four characters a token, and four tokens of framing per message
            assert unsent["usage"] == {
                "prompt_tokens": 4 + 8,  # 14 characters
                "completion_tokens": 5,  # 18 characters
                "total_tokens": 17,
                "estimated": 1,
            }
