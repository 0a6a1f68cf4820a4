"""The thinnest complete path through every process: an account, a mail, a question, an answer."""

from __future__ import annotations

import re
import time
import uuid

import httpx
import pytest

from parley_testing.model_server import ModelServer

from .conftest import Inbox, Stack

pytestmark = pytest.mark.e2e

ANSWER = "Here is bubble sort:\n\n```python\ndef bubble_sort(a):\n    return sorted(a)\n```\n"


def body_of(message: object, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))  # type: ignore[attr-defined]
    assert part is not None, f"no {subtype} part"
    return str(part.get_content())


def test_register_confirm_login_and_get_an_answer(
    stack: Stack, inbox: tuple[Inbox, int], model: ModelServer
) -> None:
    model.behaviour.reply = ANSWER
    mailbox, _ = inbox
    email = f"walker-{uuid.uuid4().hex[:8]}@example.com"
    body_transport = {"Parley-Token-Transport": "body"}
    with stack.client() as api:
        registered = api.post(
            "/api/auth/register",
            json={
                "email": email,
                "username": f"walker_{uuid.uuid4().hex[:6]}",
                "password": "correct horse 42",
            },
            headers=body_transport,
        )
        assert registered.status_code == 201, registered.text
        assert registered.json()["user"]["is_email_confirmed"] is False

        mail = mailbox.wait_for(email)
        text = body_of(mail, "plain")
        match = re.search(r"http://parley\.test/email-verify/([A-Za-z0-9_-]+)", text)
        assert match, text
        assert match.group(0) in body_of(mail, "html")

        confirmed = api.post("/api/auth/email/confirm", json={"token": match.group(1)})
        assert confirmed.status_code == 200, confirmed.text
        assert confirmed.json()["is_email_confirmed"] is True

        login = api.post(
            "/api/auth/login",
            json={"email": email, "password": "correct horse 42"},
            headers=body_transport,
        )
        assert login.status_code == 200
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}

        dialog = api.post("/api/dialogs", json={}, headers=auth)
        assert dialog.status_code == 201, dialog.text
        posted_at = time.monotonic()
        posted = api.post(
            f"/api/dialogs/{dialog.json()['id']}/messages",
            json={"message_text": "Write bubble sort in Python"},
            headers=auth,
        )
        assert posted.status_code == 202, posted.text
        assert posted.json()["status"] == "queued"
        message = wait_for_status(api, posted.json()["id"], auth, "completed")
        elapsed = time.monotonic() - posted_at

    assert message["answer_text"] == ANSWER
    assert message["usage"]["completion_tokens"] > 0
    sent = model.requests[-1]["messages"]
    assert sent[0] == {"role": "system", "content": "You are a helpful assistant."}
    assert sent[-1] == {"role": "user", "content": "Write bubble sort in Python"}
    print(
        f"\n[e2e] parley up ready in {stack.ready_seconds:.1f}s; "
        f"POST → completed in {elapsed * 1000:.0f} ms"
    )


def wait_for_status(
    api: httpx.Client, message_id: str, auth: dict[str, str], status: str, timeout: float = 20.0
) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = api.get(f"/api/messages/{message_id}", headers=auth).json()
        if message["status"] == status:
            return message  # type: ignore[no-any-return]
        assert message["status"] in ("queued", "generating"), message
        time.sleep(0.02)
    raise TimeoutError(f"message {message_id} not {status} after {timeout}s")


def test_a_fresh_stack_starts_without_an_error(stack: Stack) -> None:
    """A newcomer's first sight of Parley: no traceback and no error line while it starts (the
    chat-worker used to query its tables before chat had created them)."""
    assert "Traceback" not in stack.start_log, stack.start_log[-4000:]
    errors = [line for line in stack.start_log.splitlines() if "| error" in line]
    assert errors == [], "\n".join(errors)
