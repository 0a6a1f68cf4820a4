"""Teammates (§10) across the real processes: an invitation mailed by the real mailer to a real
SMTP server, accepted by a person who registers with the invited address and confirms it; then
two people in one shared dialog, each seeing the other's messages and the answers."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from email.message import EmailMessage
from typing import Any

import httpx
import pytest

from parley_testing.waiting import wait_until

from .conftest import Inbox, Stack
from .test_answers import wait_ended
from .ui import confirmation_token

pytestmark = pytest.mark.e2e


def confirmed_person(
    stack: Stack, inbox: Inbox, email: str | None = None
) -> tuple[httpx.Client, dict[str, str], str]:
    """A person registered with `email` (or a fresh one) who confirmed it from the mail."""
    api = stack.client()
    tag = uuid.uuid4().hex[:8]
    email = email or f"team-{tag}@example.com"
    registered = api.post(
        "/api/auth/register",
        json={"email": email, "username": f"t_{tag}", "password": "correct horse 42"},
        headers={"Parley-Token-Transport": "body"},
    )
    assert registered.status_code == 201, registered.text
    confirmed = api.post(
        "/api/auth/email/confirm", json={"token": confirmation_token(inbox, email)}
    )
    assert confirmed.status_code == 200, confirmed.text
    # a token signed after the confirmation says so
    login = api.post(
        "/api/auth/login",
        json={"email": email, "password": "correct horse 42"},
        headers={"Parley-Token-Transport": "body"},
    )
    return api, {"Authorization": f"Bearer {login.json()['access_token']}"}, f"t_{tag}"


def invitation_link(inbox: Inbox, email: str) -> tuple[str, EmailMessage]:
    mail = inbox.wait_for(email, subject="You are invited to a workspace on Parley")
    text = mail.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    html = mail.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    match = re.search(r"http://parley\.test/invite/([A-Za-z0-9_\-]+)", text)
    assert match, text
    assert match.group(0) in html
    return match.group(1), mail


def test_an_invited_teammate_joins_and_both_talk_in_one_shared_dialog(
    stack: Stack, inbox: tuple[Inbox, int]
) -> None:
    mails = inbox[0]
    api, ann, ann_name = confirmed_person(stack, mails)
    made = api.post("/api/workspaces", json={"name": "Launch team"}, headers=ann)
    assert made.status_code == 201, made.text
    workspace = made.json()["id"]
    bob_email = f"bob-{uuid.uuid4().hex[:8]}@example.com"
    invited = api.post(
        f"/api/workspaces/{workspace}/invitations", json={"email": bob_email}, headers=ann
    )
    assert invited.status_code == 201, invited.text
    token, mail = invitation_link(mails, bob_email)
    assert "Launch team" in mail.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert ann_name in mail.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    listed = api.get(f"/api/workspaces/{workspace}/invitations", headers=ann).json()["data"]
    assert [i["email"] for i in listed] == [bob_email]

    # someone else, confirmed with another address, cannot use it
    _, eve, _ = confirmed_person(stack, mails)
    wrong = api.post("/api/invitations/accept", json={"token": token}, headers=eve)
    assert wrong.status_code == 403
    assert wrong.json()["code"] == "invitation_for_another_address"

    # Bob has no account yet: he registers with the invited address, confirms, accepts
    bob_api, bob, bob_name = confirmed_person(stack, mails, bob_email)
    accepted = bob_api.post("/api/invitations/accept", json={"token": token}, headers=bob)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["workspace"]["name"] == "Launch team"
    assert accepted.json()["workspace"]["role"] == "member"
    again = bob_api.post("/api/invitations/accept", json={"token": token}, headers=bob)
    assert again.status_code == 400  # single use
    assert api.get(f"/api/workspaces/{workspace}/invitations", headers=ann).json()["data"] == []
    members = api.get(f"/api/workspaces/{workspace}/members", headers=ann).json()["data"]
    assert [(m["username"], m["role"]) for m in members] == [
        (ann_name, "owner"),
        (bob_name, "member"),
    ]

    # one shared dialog: each posts, each reads the other's message with its author and answer
    dialog = api.post(
        "/api/dialogs",
        json={"workspace_id": workspace, "visibility": "workspace", "name": "Launch plan"},
        headers=ann,
    ).json()
    first = api.post(
        f"/api/dialogs/{dialog['id']}/messages",
        json={"message_text": "Draft the plan"},
        headers=ann,
    ).json()
    second = bob_api.post(
        f"/api/dialogs/{dialog['id']}/messages",
        json={"message_text": "Add a timeline"},
        headers=bob,
    ).json()
    for message in (first, second):
        assert wait_ended(bob_api, bob, message["id"])["status"] == "completed"
    for who_api, who in ((api, ann), (bob_api, bob)):
        seen: list[dict[str, Any]] = who_api.get(
            f"/api/dialogs/{dialog['id']}/messages", headers=who
        ).json()["data"]
        assert [(m["author"]["username"], m["message_text"]) for m in seen] == [
            (ann_name, "Draft the plan"),
            (bob_name, "Add a timeline"),
        ]
        assert all(m["answer_text"] for m in seen)

    # removed: within the next request every path into the workspace is a 404
    bob_id = members[1]["user_id"]
    assert (
        api.delete(f"/api/workspaces/{workspace}/members/{bob_id}", headers=ann).status_code == 204
    )
    for path in (
        f"/api/dialogs/{dialog['id']}",
        f"/api/messages/{first['id']}",
        f"/api/messages/{first['id']}/stream",
        f"/api/workspaces/{workspace}",
    ):
        assert bob_api.get(path, headers=bob).status_code == 404, path


def teammates(
    stack: Stack, mails: Inbox
) -> tuple[httpx.Client, dict[str, str], httpx.Client, dict[str, str], str, str]:
    """Ann's new workspace with Bob in it (invited by mail, accepted): both clients, headers,
    the workspace id and Bob's user id."""
    api, ann, _ = confirmed_person(stack, mails)
    workspace = api.post("/api/workspaces", json={"name": "Live"}, headers=ann).json()["id"]
    email = f"bob-{uuid.uuid4().hex[:8]}@example.com"
    api.post(f"/api/workspaces/{workspace}/invitations", json={"email": email}, headers=ann)
    token, _ = invitation_link(mails, email)
    bob_api, bob, _ = confirmed_person(stack, mails, email)
    assert (
        bob_api.post("/api/invitations/accept", json={"token": token}, headers=bob).status_code
        == 200
    )
    bob_id = bob_api.get("/api/users/me", headers=bob).json()["id"]
    return api, ann, bob_api, bob, workspace, bob_id


class Listener:
    """A teammate's open event stream, read in a thread: events as they arrive, and when the
    stream ended."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.events: list[tuple[str, str, dict[str, Any]]] = []
        self.ended_at: float | None = None
        self.opened = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(url, headers), daemon=True)
        self._thread.start()
        assert self.opened.wait(10)

    def _run(self, url: str, headers: dict[str, str]) -> None:
        with httpx.Client(timeout=30) as http, http.stream("GET", url, headers=headers) as response:
            assert response.status_code == 200
            self.opened.set()
            event_id = kind = ""
            for line in response.iter_lines():
                if line.startswith("id: "):
                    event_id = line[4:]
                elif line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    self.events.append((event_id, kind, json.loads(line[6:])))
        self.ended_at = time.monotonic()

    def wait_for(self, count: int, timeout: float = 20) -> list[tuple[str, str, dict[str, Any]]]:
        return wait_until(
            f"{count} events", lambda: self.events if len(self.events) >= count else None, timeout
        )


def test_a_shared_dialog_updates_live_for_a_teammate_until_they_are_removed(
    stack: Stack, inbox: tuple[Inbox, int]
) -> None:
    api, ann, bob_api, bob, workspace, bob_id = teammates(stack, inbox[0])
    dialog = api.post(
        "/api/dialogs", json={"workspace_id": workspace, "visibility": "workspace"}, headers=ann
    ).json()
    url = f"{stack.url}/api/dialogs/{dialog['id']}/events"
    bob_listens = Listener(url, bob)
    posted = api.post(
        f"/api/dialogs/{dialog['id']}/messages", json={"message_text": "Hello Bob"}, headers=ann
    ).json()
    events = bob_listens.wait_for(2)
    assert [(kind, data["message"]["id"]) for _, kind, data in events[:2]] == [
        ("message.created", posted["id"]),
        ("message.updated", posted["id"]),
    ]
    assert events[1][2]["message"]["status"] == "completed"
    assert events[1][2]["message"]["answer_text"]
    assert (
        api.patch(f"/api/dialogs/{dialog['id']}", json={"name": "Renamed"}, headers=ann).status_code
        == 200
    )
    renamed = bob_listens.wait_for(3)[2]
    assert (renamed[1], renamed[2]["dialog"]["name"]) == ("dialog.updated", "Renamed")
    # a client that lost its connection resumes after the last id it saw: no gap, no duplicate
    resumed = Listener(url, {**bob, "Last-Event-ID": events[0][0]})
    assert [kind for _, kind, _ in resumed.wait_for(2)] == ["message.updated", "dialog.updated"]
    # a private dialog keeps no event stream; made private, a shared one ends its teammates'
    mine = api.post("/api/dialogs", json={"workspace_id": workspace}, headers=ann).json()
    api.post(f"/api/dialogs/{mine['id']}/messages", json={"message_text": "x"}, headers=ann)
    assert not stack.redis().exists(f"parley:dialog-events:{mine['id']}")
    other = api.post(
        "/api/dialogs", json={"workspace_id": workspace, "visibility": "workspace"}, headers=ann
    ).json()
    watching = Listener(f"{stack.url}/api/dialogs/{other['id']}/events", bob)
    hidden = api.patch(f"/api/dialogs/{other['id']}", json={"visibility": "private"}, headers=ann)
    assert hidden.status_code == 200
    wait_until("the teammate's stream ended", lambda: watching.ended_at, 5)
    assert [kind for _, kind, _ in watching.events] == ["dialog.updated"]
    assert bob_api.get(f"/api/dialogs/{other['id']}", headers=bob).status_code == 404
    # removed: the open streams end within 2 s, and the dialog is a 404
    removed_at = time.monotonic()
    assert (
        api.delete(f"/api/workspaces/{workspace}/members/{bob_id}", headers=ann).status_code == 204
    )
    wait_until("the stream closed", lambda: bob_listens.ended_at and resumed.ended_at, 5)
    assert bob_listens.ended_at is not None
    assert bob_listens.ended_at - removed_at < 2
    assert bob_api.get(url, headers=bob).status_code == 404
