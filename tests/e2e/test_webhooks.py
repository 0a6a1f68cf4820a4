"""Signed webhooks for answers, delivered by the real chat-worker to a receiver on 127.0.0.1."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from parley.model_server import ModelServer

from .conftest import Receiver, Stack
from .test_answers import post, signed_in, wait_ended

pytestmark = pytest.mark.e2e


def register(api: httpx.Client, auth: dict[str, str], url: str, **body: Any) -> dict[str, Any]:
    response = api.post("/api/webhooks", json={"url": url, **body}, headers=auth)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["secret"].startswith("whsec_")
    listed = api.get("/api/webhooks", headers=auth).json()["data"]
    assert "secret" not in listed[0]
    return created  # type: ignore[no-any-return]


def verified(secret: str, request: dict[str, Any]) -> dict[str, Any]:
    return Webhook(secret).verify(request["body"], request["headers"])  # type: ignore[no-any-return]


def deliveries(
    api: httpx.Client, auth: dict[str, str], webhook_id: str, status: str, timeout: float = 20
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = api.get(f"/api/webhooks/{webhook_id}/deliveries", headers=auth).json()["data"]
        if rows and all(r["status"] == status for r in rows):
            return rows  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise TimeoutError(f"deliveries not {status}: {rows}")


def test_completed_answer_is_delivered_signed(
    stack: Stack, model: ModelServer, receiver: tuple[Receiver, str]
) -> None:
    hooks, base = receiver
    path = f"/ok-{uuid.uuid4().hex}"
    model.behaviour.reply = "webhooked"
    api, auth = signed_in(stack)
    webhook = register(api, auth, base + path)
    message = post(api, auth)
    [request] = hooks.wait_for(1, path)
    payload = verified(webhook["secret"], request)
    assert payload["type"] == "message.completed"
    assert payload["data"]["message"]["id"] == message["id"]
    assert payload["data"]["message"]["answer_text"] == "webhooked"
    [row] = deliveries(api, auth, webhook["id"], "succeeded")
    assert row["id"] == request["headers"]["webhook-id"]
    assert [a["status_code"] for a in row["attempt_log"]] == [200]


def test_failures_and_redirects_are_retried_with_the_same_id(
    stack: Stack, model: ModelServer, receiver: tuple[Receiver, str]
) -> None:
    hooks, base = receiver
    path = f"/flaky-{uuid.uuid4().hex}"
    hooks.script += [(500, {}), (301, {"location": f"{base}/elsewhere"})]
    api, auth = signed_in(stack)
    webhook = register(api, auth, base + path)
    post(api, auth)
    requests = hooks.wait_for(3, path)
    ids = {r["headers"]["webhook-id"] for r in requests}
    assert len(ids) == 1
    for request in requests:
        verified(webhook["secret"], request)
    assert not [r for r in hooks.received if r["path"] == "/elsewhere"]  # redirect not followed
    [row] = deliveries(api, auth, webhook["id"], "succeeded")
    assert [a["status_code"] for a in row["attempt_log"]] == [500, 301, 200]


def test_retry_after_is_honoured(
    stack: Stack, model: ModelServer, receiver: tuple[Receiver, str]
) -> None:
    hooks, base = receiver
    path = f"/busy-{uuid.uuid4().hex}"
    hooks.script.append((429, {"Retry-After": "2"}))
    api, auth = signed_in(stack)
    register(api, auth, base + path)
    post(api, auth)
    first, second = hooks.wait_for(2, path)
    assert second["at"] - first["at"] >= 1.9


def test_410_disables_the_endpoint(
    stack: Stack, model: ModelServer, receiver: tuple[Receiver, str]
) -> None:
    hooks, base = receiver
    path = f"/gone-{uuid.uuid4().hex}"
    hooks.script.append((410, {}))
    api, auth = signed_in(stack)
    webhook = register(api, auth, base + path)
    post(api, auth)
    hooks.wait_for(1, path)
    deliveries(api, auth, webhook["id"], "failed")
    listed = api.get("/api/webhooks", headers=auth).json()["data"]
    assert listed[0]["disabled"] is True
    wait_ended(api, auth, post(api, auth)["id"])
    time.sleep(1)
    assert len([r for r in hooks.received if r["path"] == path]) == 1


def test_failed_answers_and_test_deliveries(
    stack: Stack, model: ModelServer, receiver: tuple[Receiver, str]
) -> None:
    hooks, base = receiver
    path = f"/failed-{uuid.uuid4().hex}"
    model.behaviour.fault = "400"
    api, auth = signed_in(stack)
    webhook = register(api, auth, base + path, events=["message.failed"])
    post(api, auth)
    [request] = hooks.wait_for(1, path)
    payload = verified(webhook["secret"], request)
    assert payload["type"] == "message.failed"
    assert payload["data"]["message"]["error"]["code"] == "provider_rejected"
    test = api.post(f"/api/webhooks/{webhook['id']}/test", headers=auth)
    assert test.status_code == 202
    _, second = hooks.wait_for(2, path)
    assert json.loads(second["body"])["type"] == "webhook.test"
    assert verified(webhook["secret"], second)["data"]["webhook_id"] == webhook["id"]
