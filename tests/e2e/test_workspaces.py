"""Teammates (§10) across the real processes: an invitation mailed by the real mailer to a real
SMTP server, accepted by a person who registers with the invited address and confirms it; then
two people in one shared dialog, each seeing the other's messages and the answers."""

from __future__ import annotations

import re
import uuid
from email.message import EmailMessage
from typing import Any

import httpx
import pytest

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
