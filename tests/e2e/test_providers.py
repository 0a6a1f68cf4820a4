"""Two providers at once (docs/DESIGN.md §9), across the real processes of `parley up`.

Two OpenAI-compatible test servers on 127.0.0.1 stand in for a cloud provider and a local one.
`parley up`'s llm-worker takes the cloud queue only (`LLM_WORKER_QUEUES=llm`): the local
provider's jobs wait until a worker for its queue starts, as with a pool scaled to zero.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from parley.stack import llm_worker_command, plan
from parley_testing.model_server import Behaviour, ModelServer
from parley_testing.ports import free_port, wait_ready
from parley_testing.redis_server import RedisServer
from parley_testing.servers import serve_asgi
from tests.conftest import Inbox
from tests.e2e.conftest import Stack, stack_env, start_stack, stop_stack

CLOUD_MODEL, LOCAL_MODEL = "gpt-test", "llama-3.1-8b"


class Providers:
    def __init__(self, stack: Stack, cloud: ModelServer, local: ModelServer) -> None:
        self.stack, self.cloud, self.local = stack, cloud, local

    def user(self) -> tuple[httpx.Client, dict[str, str]]:
        api = self.stack.client()
        tag = uuid.uuid4().hex[:8]
        response = api.post(
            "/api/auth/register",
            json={
                "email": f"p-{tag}@example.com",
                "username": f"p_{tag}",
                "password": "correct horse 42",
            },
            headers={"Parley-Token-Transport": "body"},
        )
        assert response.status_code == 201, response.text
        return api, {"Authorization": f"Bearer {response.json()['access_token']}"}

    def post(self, model: str, text: str) -> tuple[httpx.Client, dict[str, str], str]:
        api, auth = self.user()
        response = api.post(
            "/api/dialogs", json={"message_text": text, "model": model}, headers=auth
        )
        assert response.status_code == 201, response.text
        return api, auth, response.json()["message"]["id"]


@pytest.fixture(scope="module")
def providers(
    inbox: tuple[Inbox, int], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Providers]:
    cloud = ModelServer(Behaviour(models=[CLOUD_MODEL, "embedding-x"]))
    local = ModelServer(Behaviour(models=[LOCAL_MODEL]))
    tmp = tmp_path_factory.mktemp("stack-providers")
    with serve_asgi(cloud.app) as cloud_url, serve_asgi(local.app) as local_url:
        providers_file = tmp / "providers.toml"
        providers_file.write_text(
            f"""
[[providers]]
name = "cloud"
base_url = "{cloud_url}/v1"
api_key_env = "CLOUD_KEY"
[[providers.models]]
id = "{CLOUD_MODEL}"
name = "GPT test"
default = true

[[providers]]
name = "local"
base_url = "{local_url}/v1"
queue = "llm.local"
"""
        )
        redis = RedisServer(tmp / "redis").start()
        env = stack_env(
            tmp,
            redis.url,
            inbox[1],
            cloud_url,
            PARLEY_PROVIDERS_FILE=str(providers_file),
            CLOUD_KEY="sk-cloud-test",
            LLM_WORKER_QUEUES="llm",
        )
        stack = start_stack(env, tmp / "parley-up.log")
        try:
            yield Providers(stack, cloud, local)
        finally:
            stop_stack(stack)
            redis.stop()


def wait_ended(api: httpx.Client, auth: dict[str, str], message_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        message: dict[str, Any] = api.get(f"/api/messages/{message_id}", headers=auth).json()
        if message["status"] in ("completed", "failed", "cancelled"):
            return message
        time.sleep(0.1)
    raise AssertionError(f"message {message_id} did not end")


def start_worker(stack: Stack, queues: str, log: Path) -> subprocess.Popen[bytes]:
    """Another llm-worker, as `parley up` would run it, taking `queues` only."""
    _, env = plan(stack.env)
    port = free_port()
    env.update(LLM_WORKER_QUEUES=queues, LLM_WORKER_METRICS_PORT=str(port))
    with log.open("wb") as out:
        worker = subprocess.Popen(
            llm_worker_command(5, f"extra-{uuid.uuid4().hex[:6]}@%h"),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    wait_ready(f"http://127.0.0.1:{port}/readyz", 60)
    return worker


def test_each_providers_models_are_offered_under_its_name(providers: Providers) -> None:
    api, auth = providers.user()
    models = api.get("/api/models", headers=auth).json()["data"]
    offered = {m["id"]: (m["provider"], m["name"], m["default"]) for m in models}
    # the cloud lists one model in the file; the local one's come from its /v1/models
    assert offered == {
        f"cloud/{CLOUD_MODEL}": ("cloud", "GPT test", True),
        f"local/{LOCAL_MODEL}": ("local", f"local/{LOCAL_MODEL}", False),
    }
    refused = api.post("/api/dialogs", json={"model": "nope/x"}, headers=auth)
    assert refused.status_code == 422
    assert "model" in refused.json()["errors"]


def test_a_pool_takes_only_its_providers_jobs_and_each_provider_gets_its_own_model(
    providers: Providers, tmp_path: Path
) -> None:
    providers.cloud.requests.clear()
    providers.local.requests.clear()
    local_api, local_auth, local_id = providers.post(f"local/{LOCAL_MODEL}", "to the local model")
    cloud_api, cloud_auth, cloud_id = providers.post(f"cloud/{CLOUD_MODEL}", "to the cloud")
    assert wait_ended(cloud_api, cloud_auth, cloud_id)["status"] == "completed"
    # no worker takes llm.local yet: the local answer waits, and the local server heard nothing
    time.sleep(1)
    waiting = local_api.get(f"/api/messages/{local_id}", headers=local_auth).json()
    assert waiting["status"] == "queued"
    assert providers.local.requests == []
    [cloud_request] = providers.cloud.requests
    assert cloud_request["model"] == CLOUD_MODEL  # the provider's own name, not `cloud/...`
    assert cloud_request["messages"][-1] == {"role": "user", "content": "to the cloud"}

    worker = start_worker(providers.stack, "llm.local", tmp_path / "worker.log")
    try:
        ended = wait_ended(local_api, local_auth, local_id)
    finally:
        worker.terminate()
        worker.wait(30)
    assert ended["status"] == "completed"
    assert ended["model"] == f"local/{LOCAL_MODEL}"
    [local_request] = providers.local.requests
    assert local_request["model"] == LOCAL_MODEL
    assert local_request["messages"][-1] == {"role": "user", "content": "to the local model"}
    assert len(providers.cloud.requests) == 1  # nothing of the local answer went to the cloud


def test_a_failing_provider_fails_only_its_own_messages(
    providers: Providers, tmp_path: Path
) -> None:
    providers.local.behaviour.fault = "500"  # every request, until the end of the test
    worker = start_worker(providers.stack, "llm.local", tmp_path / "worker.log")
    try:
        local_api, local_auth, local_id = providers.post(f"local/{LOCAL_MODEL}", "doomed")
        cloud_api, cloud_auth, cloud_id = providers.post(f"cloud/{CLOUD_MODEL}", "fine")
        failed = wait_ended(local_api, local_auth, local_id)
        answered = wait_ended(cloud_api, cloud_auth, cloud_id)
    finally:
        providers.local.behaviour.fault = None
        worker.terminate()
        worker.wait(30)
    assert failed["status"] == "failed"
    assert failed["error"]["retryable"] is True
    assert answered["status"] == "completed"
    assert answered["answer_text"]
    # the stack stays ready: a provider is outside it
    assert httpx.get(f"{providers.stack.url}/readyz", timeout=5).status_code == 200
