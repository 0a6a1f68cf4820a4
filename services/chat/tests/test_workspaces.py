"""Workspaces, members and shared dialogs in chat (docs/DESIGN.md §10): roles and their rules,
and who may read what — a non-member gets 404 for anything in a workspace, at once after being
removed."""

from __future__ import annotations

import json
import uuid

import httpx
from sqlmodel import select

from chat_service.account_events import delete_user_data
from chat_service.models import Dialog, Workspace, WorkspaceMember
from kit.outbox import OutboxEvent

from .conftest import auth_headers

Headers = dict[str, str]


def person(name: str, *, confirmed: bool = True) -> tuple[uuid.UUID, Headers]:
    user_id = uuid.uuid4()
    return user_id, auth_headers(user_id, confirmed=confirmed, username=name)


async def team(client: httpx.AsyncClient, owner: Headers, *others: uuid.UUID) -> str:
    """A team workspace made by `owner`, with `others` added as members (as an accepted
    invitation would)."""
    made = await client.post("/api/workspaces", json={"name": "Team"}, headers=owner)
    assert made.status_code == 201, made.text
    workspace_id = made.json()["id"]
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    async with runtime.db.session() as session:
        for user_id in others:
            session.add(
                WorkspaceMember(
                    workspace_id=uuid.UUID(workspace_id),
                    user_id=user_id,
                    role="member",
                    username=f"u{user_id.hex[:4]}",
                )
            )
        await session.commit()
    return str(workspace_id)


async def test_a_personal_workspace_comes_first_and_holds_every_dialog(
    chat_client: httpx.AsyncClient,
) -> None:
    _, ann = person("ann")
    listed = await chat_client.get("/api/workspaces", headers=ann)
    assert listed.status_code == 200
    [personal] = listed.json()["data"]
    assert (personal["name"], personal["personal"], personal["role"]) == ("Personal", True, "owner")
    dialog = (await chat_client.post("/api/dialogs", json={}, headers=ann)).json()
    assert (dialog["workspace_id"], dialog["visibility"]) == (personal["id"], "private")
    gone = await chat_client.delete(f"/api/workspaces/{personal['id']}", headers=ann)
    assert gone.status_code == 409
    left = await chat_client.delete(
        f"/api/workspaces/{personal['id']}/members/{dialog['user_id']}", headers=ann
    )
    assert left.status_code == 409


async def test_creating_needs_a_confirmed_email(chat_client: httpx.AsyncClient) -> None:
    _, unconfirmed = person("new", confirmed=False)
    refused = await chat_client.post("/api/workspaces", json={"name": "X"}, headers=unconfirmed)
    assert refused.status_code == 403
    blank = await chat_client.post("/api/workspaces", json={"name": "  "}, headers=person("b")[1])
    assert blank.status_code == 422


async def test_roles_and_their_rules(chat_client: httpx.AsyncClient) -> None:
    ann_id, ann = person("ann")
    bob_id, bob = person("bob")
    cid_id, cid = person("cid")
    workspace = await team(chat_client, ann, bob_id, cid_id)
    base = f"/api/workspaces/{workspace}"
    members = (await chat_client.get(f"{base}/members", headers=bob)).json()["data"]
    assert {m["user_id"]: m["role"] for m in members} == {
        str(ann_id): "owner",
        str(bob_id): "member",
        str(cid_id): "member",
    }
    assert members[0]["username"] == "ann"
    # a member manages nobody; an admin manages members but not owners
    assert (await chat_client.delete(f"{base}/members/{cid_id}", headers=bob)).status_code == 403
    promote = await chat_client.patch(
        f"{base}/members/{bob_id}", json={"role": "admin"}, headers=ann
    )
    assert promote.json()["role"] == "admin"
    owner_by_admin = await chat_client.patch(
        f"{base}/members/{cid_id}", json={"role": "owner"}, headers=bob
    )
    assert owner_by_admin.status_code == 403
    assert (await chat_client.delete(f"{base}/members/{ann_id}", headers=bob)).status_code == 403
    renamed = await chat_client.patch(base, json={"name": "Renamed"}, headers=bob)
    assert renamed.json()["name"] == "Renamed"
    assert (await chat_client.delete(base, headers=bob)).status_code == 403  # owners only
    # the last owner can neither leave nor step down; with a second owner they can
    assert (await chat_client.delete(f"{base}/members/{ann_id}", headers=ann)).status_code == 409
    demote = await chat_client.patch(
        f"{base}/members/{ann_id}", json={"role": "member"}, headers=ann
    )
    assert demote.status_code == 409
    assert (
        await chat_client.patch(f"{base}/members/{cid_id}", json={"role": "owner"}, headers=ann)
    ).status_code == 200
    assert (await chat_client.delete(f"{base}/members/{ann_id}", headers=ann)).status_code == 204
    assert (await chat_client.get(base, headers=ann)).status_code == 404  # left
    assert (await chat_client.delete(f"{base}/members/{bob_id}", headers=cid)).status_code == 204
    assert (await chat_client.delete(base, headers=cid)).status_code == 204
    assert (await chat_client.get(base, headers=cid)).status_code == 404


async def test_shared_dialogs_are_every_members_and_private_ones_their_makers(
    chat_client: httpx.AsyncClient,
) -> None:
    _, ann = person("ann")
    bob_id, bob = person("bob")
    _, eve = person("eve")  # not in the workspace
    workspace = await team(chat_client, ann, bob_id)
    shared = (
        await chat_client.post(
            "/api/dialogs",
            json={"workspace_id": workspace, "visibility": "workspace", "name": "Plans"},
            headers=ann,
        )
    ).json()
    private = (
        await chat_client.post(
            "/api/dialogs", json={"workspace_id": workspace, "name": "Mine"}, headers=ann
        )
    ).json()
    listed = await chat_client.get("/api/dialogs", params={"workspace_id": workspace}, headers=bob)
    assert [d["name"] for d in listed.json()["data"]] == ["Plans"]
    assert (await chat_client.get("/api/dialogs", headers=bob)).json()["data"] == []  # personal
    posted = await chat_client.post(
        f"/api/dialogs/{shared['id']}/messages", json={"message_text": "hello team"}, headers=bob
    )
    assert posted.status_code == 202, posted.text
    message = posted.json()
    assert message["author"] == {"user_id": str(bob_id), "username": "bob"}
    read = await chat_client.get(f"/api/dialogs/{shared['id']}/messages", headers=ann)
    assert [m["author"]["username"] for m in read.json()["data"]] == ["bob"]
    # a member may not change someone else's dialog; the maker and the owner may
    renamed = await chat_client.patch(
        f"/api/dialogs/{shared['id']}", json={"name": "x"}, headers=bob
    )
    assert renamed.status_code == 403
    # every edge is a 404: the private dialog to a teammate, anything to a stranger
    for who, path in [
        (bob, f"/api/dialogs/{private['id']}"),
        (bob, f"/api/dialogs/{private['id']}/messages"),
        (eve, f"/api/dialogs/{shared['id']}"),
        (eve, f"/api/dialogs/{shared['id']}/messages"),
        (eve, f"/api/messages/{message['id']}"),
        (eve, f"/api/messages/{message['id']}/stream"),
        (eve, f"/api/workspaces/{workspace}"),
        (eve, f"/api/workspaces/{workspace}/members"),
    ]:
        assert (await chat_client.get(path, headers=who)).status_code == 404, path
    stranger_list = await chat_client.get(
        "/api/dialogs", params={"workspace_id": workspace}, headers=eve
    )
    assert stranger_list.status_code == 404
    into = await chat_client.post(
        "/api/dialogs", json={"workspace_id": workspace, "visibility": "workspace"}, headers=eve
    )
    assert into.status_code == 422
    # removed: at once, everything in the workspace is a 404
    removed = await chat_client.delete(f"/api/workspaces/{workspace}/members/{bob_id}", headers=ann)
    assert removed.status_code == 204
    for path in (f"/api/dialogs/{shared['id']}", f"/api/messages/{message['id']}"):
        assert (await chat_client.get(path, headers=bob)).status_code == 404
    assert (
        await chat_client.post(
            f"/api/dialogs/{shared['id']}/messages", json={"message_text": "still?"}, headers=bob
        )
    ).status_code == 404
    # deleting the workspace takes its dialogs with it
    assert (
        await chat_client.delete(f"/api/workspaces/{workspace}", headers=ann)
    ).status_code == 204
    assert (await chat_client.get(f"/api/dialogs/{shared['id']}", headers=ann)).status_code == 404


async def test_a_deleted_account_leaves_its_workspaces_cleanly(
    chat_client: httpx.AsyncClient,
) -> None:
    ann_id, ann = person("ann")
    bob_id, bob = person("bob")
    cid_id, cid = person("cid")
    handed_on = await team(chat_client, ann, bob_id, cid_id)
    await chat_client.patch(
        f"/api/workspaces/{handed_on}/members/{cid_id}", json={"role": "admin"}, headers=ann
    )
    alone = await team(chat_client, ann)
    kept = (
        await chat_client.post(
            "/api/dialogs", json={"workspace_id": alone, "visibility": "workspace"}, headers=ann
        )
    ).json()
    runtime = chat_client.app.state.runtime  # type: ignore[attr-defined]
    await delete_user_data(runtime, ann_id)
    members = (await chat_client.get(f"/api/workspaces/{handed_on}/members", headers=bob)).json()
    assert {m["user_id"]: m["role"] for m in members["data"]} == {
        str(bob_id): "member",
        str(cid_id): "owner",  # the admin before the member
    }
    assert (await chat_client.get(f"/api/workspaces/{alone}", headers=cid)).status_code == 404
    async with runtime.db.session() as session:
        assert await session.get(Workspace, uuid.UUID(alone)) is None
        assert await session.get(Dialog, uuid.UUID(kept["id"])) is None


async def test_invitations_are_managed_by_owners_and_admins(
    chat_client: httpx.AsyncClient,
) -> None:
    _, ann = person("ann")
    bob_id, bob = person("bob")
    workspace = await team(chat_client, ann, bob_id)
    base = f"/api/workspaces/{workspace}/invitations"
    made = await chat_client.post(base, json={"email": "Cid@Example.com"}, headers=ann)
    assert made.status_code == 201, made.text
    assert made.json()["role"] == "member"
    again = await chat_client.post(
        base, json={"email": "cid@example.com", "role": "admin"}, headers=ann
    )
    assert again.json()["id"] == made.json()["id"]  # the same invitation, sent anew
    listed = (await chat_client.get(base, headers=ann)).json()["data"]
    assert [(i["email"], i["role"]) for i in listed] == [("Cid@Example.com", "admin")]
    assert (await chat_client.post(base, json={"email": "x@y.org"}, headers=bob)).status_code == 403
    bad = await chat_client.post(base, json={"email": "not an address"}, headers=ann)
    assert bad.status_code == 422
    invitation = made.json()["id"]
    resent = await chat_client.post(f"{base}/{invitation}/resend", headers=ann)
    assert resent.status_code == 200
    assert (await chat_client.delete(f"{base}/{invitation}", headers=ann)).status_code == 204
    assert (await chat_client.get(base, headers=ann)).json()["data"] == []
    assert (await chat_client.delete(f"{base}/{invitation}", headers=ann)).status_code == 404
    unknown = await chat_client.post("/api/invitations/accept", json={"token": "nope"}, headers=bob)
    assert unknown.status_code == 400
    personal = (await chat_client.get("/api/workspaces", headers=ann)).json()["data"][0]["id"]
    alone = await chat_client.post(
        f"/api/workspaces/{personal}/invitations", json={"email": "x@y.org"}, headers=ann
    )
    assert alone.status_code == 409
    runtime = chat_client.app.state.runtime  # type: ignore[attr-defined]
    async with runtime.db.session() as session:
        mails = (
            await session.exec(
                select(OutboxEvent).where(OutboxEvent.type == "chat.workspace_invitation")
            )
        ).all()
    sent = [json.loads(m.payload)["data"] for m in mails]
    links = {d["link"] for d in sent if d["email"].lower() == "cid@example.com"}
    assert len(links) == 3  # made, made again, re-sent: each mail with its own link


async def test_a_workspace_agent_is_its_members_and_answers_a_mention_there(
    chat_client: httpx.AsyncClient,
) -> None:
    _, ann = person("ann")
    bob_id, bob = person("bob")
    _, eve = person("eve")
    workspace = await team(chat_client, ann, bob_id)
    body = {"handle": "scribe", "name": "Scribe", "scope": "workspace", "workspace_id": workspace}
    assert (await chat_client.post("/api/agents", json=body, headers=bob)).status_code == 403
    assert (await chat_client.post("/api/agents", json=body, headers=eve)).status_code == 422
    made = await chat_client.post("/api/agents", json=body, headers=ann)
    assert made.status_code == 201, made.text
    agent = made.json()
    assert (agent["scope"], agent["workspace_id"]) == ("workspace", workspace)
    assert "scribe" in [
        a["handle"] for a in (await chat_client.get("/api/agents", headers=bob)).json()["data"]
    ]
    assert (await chat_client.get(f"/api/agents/{agent['id']}", headers=bob)).status_code == 200
    assert (await chat_client.get(f"/api/agents/{agent['id']}", headers=eve)).status_code == 404
    assert (
        await chat_client.patch(f"/api/agents/{agent['id']}", json={"name": "x"}, headers=bob)
    ).status_code == 403
    shared = (
        await chat_client.post(
            "/api/dialogs", json={"workspace_id": workspace, "visibility": "workspace"}, headers=ann
        )
    ).json()
    posted = await chat_client.post(
        f"/api/dialogs/{shared['id']}/messages",
        json={"message_text": "@scribe note this"},
        headers=bob,
    )
    assert posted.json()["agent"]["handle"] == "scribe"
    # outside the workspace the handle names nobody: plain text for the assistant
    elsewhere = (await chat_client.post("/api/dialogs", json={}, headers=bob)).json()
    plain = await chat_client.post(
        f"/api/dialogs/{elsewhere['id']}/messages", json={"message_text": "@scribe hi"}, headers=bob
    )
    assert plain.json()["agent"]["handle"] == "assistant"
