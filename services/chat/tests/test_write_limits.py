"""Per-user limits on costly writes: one limiter in Redis, 429 before anything is stored."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import httpx

Headers = Callable[..., dict[str, str]]


async def test_dialog_creation_is_limited_per_user(
    chat_client: httpx.AsyncClient, user: Headers
) -> None:
    alice, bob = user(), user()
    statuses = []
    for i in range(60):
        response = await chat_client.post("/api/dialogs", json={"name": f"d{i}"}, headers=alice)
        statuses.append(response.status_code)
    assert statuses[:20] == [201] * 20  # the default burst: 20 a minute
    assert set(statuses[20:]) == {429}
    refused = response
    problem = refused.json()
    assert problem["code"] == "rate_limited"
    assert refused.headers["content-type"] == "application/problem+json"
    assert 1 <= int(refused.headers["retry-after"]) <= 3  # one more every 60 / 20 s
    assert refused.headers["ratelimit-policy"] == '"dialogs";q=20;w=60'
    assert refused.headers["ratelimit"].startswith('"dialogs";r=0;t=')
    stored = (await chat_client.get("/api/dialogs", params={"limit": 100}, headers=alice)).json()
    assert len(stored["data"]) == 20  # nothing was written for a refused request
    # another user has a budget of their own
    assert (await chat_client.post("/api/dialogs", json={}, headers=bob)).status_code == 201


async def test_accepted_writes_say_what_is_left(
    chat_client: httpx.AsyncClient, user: Headers
) -> None:
    headers = user()
    first = await chat_client.post("/api/dialogs", json={}, headers=headers)
    assert first.headers["ratelimit"].startswith('"dialogs";r=19;')
    second = await chat_client.post("/api/dialogs", json={}, headers=headers)
    assert second.headers["ratelimit"].startswith('"dialogs";r=18;')


async def test_messages_are_limited_and_a_first_message_counts(
    chat_client: httpx.AsyncClient, user: Headers
) -> None:
    headers = user()
    dialog = (
        await chat_client.post("/api/dialogs", json={"message_text": "one"}, headers=headers)
    ).json()
    posted = []
    started = time.monotonic()
    for i in range(70):
        response = await chat_client.post(
            f"/api/dialogs/{dialog['id']}/messages", json={"message_text": f"m{i}"}, headers=headers
        )
        posted.append(response.status_code)
        if response.status_code == 429:
            break
    elapsed = time.monotonic() - started
    # 60 a minute, the dialog's first message included; the limit refills one a second, so a
    # slow run gets one more per second it took
    assert posted[:59] == [202] * 59
    assert posted[-1] == 429, posted
    accepted = posted.count(202)
    assert accepted <= 59 + math.ceil(elapsed)
    assert response.json()["code"] == "rate_limited"
    page = await chat_client.get(
        f"/api/dialogs/{dialog['id']}/messages", params={"limit": 100}, headers=headers
    )
    assert len(page.json()["data"]) == accepted + 1  # nothing stored for the refused post


async def test_regenerate_and_webhook_tests_are_limited(
    chat_client: httpx.AsyncClient, user: Headers
) -> None:
    headers = user()
    dialog = (
        await chat_client.post("/api/dialogs", json={"message_text": "x"}, headers=headers)
    ).json()
    message_id = dialog["message"]["id"]
    codes = set()
    for _ in range(25):
        response = await chat_client.post(f"/api/messages/{message_id}/regenerate", headers=headers)
        codes.add(response.status_code)
        if response.status_code == 429:
            break
    assert response.status_code == 429
    assert response.headers["ratelimit-policy"] == '"regenerations";q=20;w=60'

    hook = await chat_client.post(
        "/api/webhooks", json={"url": "https://1.1.1.1/hook"}, headers=headers
    )
    assert hook.status_code == 201, hook.text
    tests = [
        (await chat_client.post(f"/api/webhooks/{hook.json()['id']}/test", headers=headers))
        for _ in range(6)
    ]
    assert [t.status_code for t in tests] == [202] * 5 + [429]
    deliveries = await chat_client.get(
        f"/api/webhooks/{hook.json()['id']}/deliveries", headers=headers
    )
    assert len(deliveries.json()["data"]) == 5
