"""Programs with API keys, usage and budgets across the real processes (§11), on SQLite and
PostgreSQL: a key's whole life, usage equal to what the model reported, a budget that refuses
concurrent posts once it is spent and stores nothing for them."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from parley.stack import Ports
from parley_testing.model_server import ModelServer, tokens

from .conftest import Stack
from .test_answers import post, signed_in, sse, wait_ended

pytestmark = pytest.mark.e2e
STAFF_PASSWORD = "staff horse 42"


def staff(stack: Stack) -> dict[str, str]:
    """A superuser made with `parley createsuperuser` on the stack's databases, signed in."""
    email = make_superuser(stack)
    with stack.client() as api:
        login = api.post(
            "/api/auth/login",
            json={"email": email, "password": STAFF_PASSWORD},
            headers={"Parley-Token-Transport": "body"},
        )
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


def make_superuser(stack: Stack) -> str:
    """`parley createsuperuser` on the stack's databases; the new staff member's email (the
    password is STAFF_PASSWORD)."""
    tag = uuid.uuid4().hex[:8]
    email = f"staff-{tag}@example.com"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "parley",
            "createsuperuser",
            "--email",
            email,
            "--username",
            f"staff_{tag}",
        ],
        env={**stack.env, "PARLEY_SUPERUSER_PASSWORD": STAFF_PASSWORD},
        check=True,
        capture_output=True,
        timeout=60,
    )
    return email


def new_key(
    api: httpx.Client, person: dict[str, str], **body: Any
) -> tuple[dict[str, Any], dict[str, str]]:
    response = api.post("/api/keys", json={"name": "program", **body}, headers=person)
    assert response.status_code == 201, response.text
    key: dict[str, Any] = response.json()
    return key, {"Authorization": f"Bearer {key['key']}"}


def reported_by_model(model: ModelServer, text: str, answer: str) -> tuple[int, int]:
    """The (prompt, completion) tokens the test model reported for the answer to `text`."""
    [request] = [r for r in model.requests if r["messages"][-1]["content"] == text]
    prompt = sum(len(str(m.get("content", "")).split()) for m in request["messages"])
    return prompt, len(tokens(answer))


def refusals(stack: Stack, reason: str) -> float:
    port = Ports(int(stack.env["PARLEY_PORT"])).chat
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "parley_limit_refusals_total" and sample.labels.get("reason") == reason
    )


class TestProgramWithAKey:
    def test_a_programs_whole_life(self, stack: Stack, model: ModelServer) -> None:
        api, person = signed_in(stack)
        key, program = new_key(api, person)
        questions = [f"question {i} {uuid.uuid4()}" for i in range(3)]
        messages = [post(api, program, q) for q in questions]
        answered = [wait_ended(api, program, m["id"]) for m in messages]
        assert [m["status"] for m in answered] == ["completed"] * 3
        events = list(sse(api, program, messages[0]["id"]))  # streams work with a key too
        assert events[-1][1] == "done"

        # what the usage says is what the model reported, counted once, under this key
        expected = [
            reported_by_model(model, q, m["answer_text"])
            for q, m in zip(questions, answered, strict=True)
        ]
        usage = api.get("/api/usage", params={"key_id": key["id"]}, headers=program).json()
        assert usage["totals"]["messages"] == 3
        assert usage["totals"]["prompt_tokens"] == sum(p for p, _ in expected)
        assert usage["totals"]["completion_tokens"] == sum(c for _, c in expected)
        assert usage["totals"]["estimated_tokens"] == 0
        assert api.get("/api/usage", headers=person).json()["totals"] == usage["totals"]

        # the person sees it used; keys can never reach the account
        listed = api.get("/api/keys", headers=person).json()["data"]
        assert listed[0]["last_used_at"] is not None
        assert api.get("/api/keys", headers=program).json()["code"] == "api_key_not_allowed"

        revoked = api.delete(f"/api/keys/{key['id']}", headers=person)
        assert revoked.status_code == 204
        started = time.monotonic()
        refused = api.get(f"/api/messages/{messages[0]['id']}", headers=program)
        assert (refused.status_code, refused.json()["code"]) == (401, "invalid_api_key")
        assert time.monotonic() - started < 1.0

    def test_an_expired_key_and_a_read_only_key(self, stack: Stack) -> None:
        api, person = signed_in(stack)
        ends = datetime.now(UTC) + timedelta(seconds=2)
        _, short = new_key(api, person, expires_at=ends.isoformat())
        assert api.get("/api/dialogs", headers=short).status_code == 200
        time.sleep(max(0.0, (ends - datetime.now(UTC)).total_seconds()) + 0.3)
        expired = api.get("/api/dialogs", headers=short)
        assert (expired.status_code, expired.json()["code"]) == (401, "invalid_api_key")
        _, reader = new_key(api, person, scopes=["read"])
        assert api.get("/api/dialogs", headers=reader).status_code == 200
        write = api.post("/api/dialogs", json={"message_text": "hi"}, headers=reader)
        assert (write.status_code, write.json()["code"]) == (403, "insufficient_scope")
        assert api.get("/api/dialogs", headers=person).json()["data"] == []


class TestBudgets:
    def test_a_spent_budget_refuses_concurrent_posts_and_stores_nothing(
        self, stack: Stack, model: ModelServer
    ) -> None:
        model.behaviour.reply = "four words of answer"
        admin = staff(stack)
        api, person = signed_in(stack)
        me = api.get("/api/users/me", headers=person).json()
        first = post(api, person, "one two three")
        spent = wait_ended(api, person, first["id"])["usage"]
        used = spent["prompt_tokens"] + spent["completion_tokens"]
        # a budget of exactly what was used: the next message is refused
        budget = api.put(
            f"/api/admin/users/{me['id']}/budget", json={"monthly_tokens": used}, headers=admin
        )
        assert budget.status_code == 200, budget.text
        assert budget.json()["used"] == used
        before = refusals(stack, "budget_exceeded")

        def attempt(_: int) -> httpx.Response:
            with stack.client() as client:
                return client.post(
                    f"/api/dialogs/{first['dialog_id']}/messages",
                    json={"message_text": "more"},
                    headers=person,
                )

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(attempt, range(8)))
        assert {r.status_code for r in answers} == {429}
        assert {r.json()["code"] for r in answers} == {"budget_exceeded"}
        assert all(int(r.headers["retry-after"]) > 0 for r in answers)
        page = api.get(f"/api/dialogs/{first['dialog_id']}/messages", headers=person).json()
        assert [m["id"] for m in page["data"]] == [first["id"]]
        assert refusals(stack, "budget_exceeded") - before == 8

        # one more token: one more message, which runs to its end and counts in full
        api.put(
            f"/api/admin/users/{me['id']}/budget", json={"monthly_tokens": used + 1}, headers=admin
        )
        second = post(api, person, "and again")
        assert wait_ended(api, person, second["id"])["status"] == "completed"
        usage = api.get("/api/usage", headers=person).json()
        assert usage["budget"]["used"] > used + 1  # the admitted answer overshot; it was not cut
        again = api.post(
            f"/api/dialogs/{second['dialog_id']}/messages",
            json={"message_text": "x"},
            headers=person,
        )
        assert again.status_code == 429
        # staff see it across users
        overview = api.get("/api/admin/usage", params={"user_id": me["id"]}, headers=admin).json()
        assert overview["totals"]["messages"] == 2
