"""Signed webhooks for answers, delivered by the real chat-worker to a receiver on 127.0.0.1."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from parley_testing.model_server import ModelServer
from parley_testing.waiting import wait_until

from .conftest import Inbox, Receiver, Stack
from .test_answers import post, signed_in, wait_ended
from .ui import confirmation_token

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


def test_deleting_the_account_removes_dialogs_messages_and_webhooks(
    stack: Stack, model: ModelServer, receiver: tuple[Receiver, str]
) -> None:
    from sqlalchemy import create_engine, text

    _, base = receiver
    api, auth = signed_in(stack)
    me = api.get("/api/users/me", headers=auth).json()
    register(api, auth, f"{base}/deleted-{uuid.uuid4().hex}")
    wait_ended(api, auth, post(api, auth)["id"])
    url = stack.env.get("CHAT_DATABASE_URL") or (
        f"sqlite:///{stack.env['PARLEY_DATA_DIR']}/chat.db"
    )
    engine = create_engine(url.replace("+aiosqlite", "").replace("+asyncpg", "+psycopg2"))
    counts = "SELECT (SELECT count(*) FROM dialog WHERE user_id = :u), (SELECT count(*) FROM message WHERE user_id = :u), (SELECT count(*) FROM webhook_endpoint WHERE user_id = :u)"  # noqa: E501
    user_id = uuid.UUID(me["id"])
    key = user_id.hex if url.startswith("sqlite") else str(user_id)
    with engine.connect() as conn:
        assert tuple(conn.execute(text(counts), {"u": key}).one()) == (1, 1, 1)
    deleted = api.request(
        "DELETE", "/api/users/me", json={"password": "correct horse 42"}, headers=auth
    )
    assert deleted.status_code == 204, deleted.text
    deadline = time.monotonic() + 20
    while True:
        with engine.connect() as conn:
            if tuple(conn.execute(text(counts), {"u": key}).one()) == (0, 0, 0):
                break
        assert time.monotonic() < deadline, "chat kept the deleted user's data"
        time.sleep(0.2)
    engine.dispose()


def test_a_failing_endpoint_is_reported_disabled_enabled_and_retried(
    stack: Stack, model: ModelServer, receiver: tuple[Receiver, str], inbox: tuple[Inbox, int]
) -> None:
    """Svix's and Stripe's rules: the owner is mailed when deliveries start failing; after
    PARLEY_WEBHOOK_DISABLE_AFTER (3 here) exhausted deliveries in a row the endpoint is disabled
    with a reason and the owner mailed again; they enable it and retry a failed delivery."""
    hooks, base = receiver
    mails, _ = inbox
    path = f"/down-{uuid.uuid4().hex}"
    hooks.down.add(path)
    api = stack.client()
    tag = uuid.uuid4().hex[:8]
    email = f"hooks-{tag}@example.com"
    response = api.post(
        "/api/auth/register",
        json={"email": email, "username": f"h_{tag}", "password": "correct horse 42"},
        headers={"Parley-Token-Transport": "body"},
    )
    auth = {"Authorization": f"Bearer {response.json()['access_token']}"}
    token = confirmation_token(mails, email)  # more than 3 messages follow
    assert api.post("/api/auth/email/confirm", json={"token": token}).status_code == 200
    webhook = register(api, auth, base + path)

    wait_ended(api, auth, post(api, auth, "one")["id"])
    first = deliveries(api, auth, webhook["id"], "failed")
    assert len(first[0]["attempt_log"]) == 8  # every scheduled attempt was made
    warned = mails.wait_for(email, subject="Your Parley webhook is failing")
    assert base + path in warned.get_body(preferencelist=("plain",)).get_content()
    listed = api.get("/api/webhooks", headers=auth).json()["data"][0]
    assert (listed["disabled"], listed["failed_deliveries"]) == (False, 1)

    for text in ("two", "three"):
        wait_ended(api, auth, post(api, auth, text)["id"])
    rows = deliveries(api, auth, webhook["id"], "failed")
    assert len(rows) == 3
    disabled = mails.wait_for(email, subject="Your Parley webhook was disabled")
    assert (
        "3 deliveries in a row failed" in disabled.get_body(preferencelist=("plain",)).get_content()
    )
    listed = api.get("/api/webhooks", headers=auth).json()["data"][0]
    assert listed["disabled"] is True
    assert listed["disabled_reason"] == "3 deliveries in a row failed."
    refused = api.post(
        f"/api/webhooks/{webhook['id']}/deliveries/{first[0]['id']}/retry", headers=auth
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "webhook_disabled"
    sent_before = len(hooks.received)
    wait_ended(api, auth, post(api, auth, "while disabled")["id"])
    time.sleep(0.5)
    assert len(hooks.received) == sent_before  # nothing is sent to a disabled endpoint

    hooks.down.discard(path)  # the receiver is fixed
    enabled = api.patch(f"/api/webhooks/{webhook['id']}", json={"disabled": False}, headers=auth)
    assert enabled.status_code == 200, enabled.text
    assert (enabled.json()["disabled"], enabled.json()["failed_deliveries"]) == (False, 0)
    retried = api.post(
        f"/api/webhooks/{webhook['id']}/deliveries/{first[0]['id']}/retry", headers=auth
    )
    assert retried.status_code == 202, retried.text

    def retried_row() -> dict[str, Any] | None:
        rows = api.get(f"/api/webhooks/{webhook['id']}/deliveries", headers=auth).json()["data"]
        [row] = [r for r in rows if r["id"] == first[0]["id"]]
        return row if row["status"] == "succeeded" else None

    row = wait_until("the retried delivery to succeed", retried_row, timeout=10)
    assert [a["status_code"] for a in row["attempt_log"]][-1] == 200
    resent = [
        r for r in hooks.received if r["path"] == path and r["headers"]["webhook-id"] == row["id"]
    ]
    verified(webhook["secret"], resent[-1])  # the same webhook-id, signed as before


def test_a_rotated_secret_signs_beside_the_old_one(
    stack: Stack, model: ModelServer, receiver: tuple[Receiver, str]
) -> None:
    hooks, base = receiver
    path = f"/rotated-{uuid.uuid4().hex}"
    api, auth = signed_in(stack)
    webhook = register(api, auth, base + path)
    rotated = api.post(f"/api/webhooks/{webhook['id']}/rotate-secret", headers=auth)
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["secret"]
    assert new_secret.startswith("whsec_")
    assert new_secret != webhook["secret"]
    listed = api.get("/api/webhooks", headers=auth).json()["data"][0]
    assert listed["previous_secret_expires_at"] == rotated.json()["previous_secret_expires_at"]
    assert "secret" not in listed
    post(api, auth)
    [request] = hooks.wait_for(1, path)
    # a receiver still on the old secret and one already on the new both accept it
    assert verified(webhook["secret"], request)["type"] == "message.completed"
    assert verified(new_secret, request)["type"] == "message.completed"
    assert len(request["headers"]["webhook-signature"].split(" ")) == 2
