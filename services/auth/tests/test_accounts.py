from __future__ import annotations

import json
from collections.abc import Callable

import httpx
from sqlmodel import func, select

from auth_service.models import AuthSession, EmailToken, Profile, User
from auth_service.runtime import Runtime
from kit.outbox import OutboxEvent


def runtime(client: httpx.AsyncClient) -> Runtime:
    return client.app.state.runtime  # type: ignore[attr-defined, no-any-return]


class TestRegister:
    async def test_creates_user_profile_session_and_events(self, auth_client: httpx.AsyncClient, new_account: Callable[[], dict[str, str]]) -> None:
        account = new_account()
        response = await auth_client.post("/api/auth/register", json=account)
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["token_type"] == "Bearer"
        assert body["expires_in"] == 900
        assert body["refresh_token"]
        assert body["user"]["email"] == account["email"]
        assert body["user"]["is_email_confirmed"] is False
        assert body["user"]["profile"] == {"first_name": "", "last_name": "", "avatar_url": None}

        async with runtime(auth_client).db.session() as session:
            user = (await session.exec(select(User).where(User.email == account["email"]))).one()
            assert user.password_hash.startswith("$argon2id$")
            assert await session.get(Profile, user.id) is not None
            sessions = (await session.exec(select(AuthSession).where(AuthSession.user_id == user.id))).all()
            assert len(sessions) == 1
            types = [
                e.type
                for e in (await session.exec(select(OutboxEvent))).all()
                if account["email"] in e.payload
            ]
            assert sorted(types) == ["auth.email_confirmation_requested", "auth.user_registered"]

    async def test_taken_email_is_a_field_error_and_writes_nothing(
        self, auth_client: httpx.AsyncClient, new_account: Callable[[], dict[str, str]]
    ) -> None:
        account = new_account()
        assert (await auth_client.post("/api/auth/register", json=account)).status_code == 201
        again = {**account, "username": account["username"] + "x"}
        async with runtime(auth_client).db.session() as session:
            users_before = (await session.exec(select(func.count()).select_from(User))).one()
        response = await auth_client.post("/api/auth/register", json=again)
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "email_taken"
        assert response.json()["errors"]["email"] == ["An account with this email already exists."]
        async with runtime(auth_client).db.session() as session:
            assert (await session.exec(select(func.count()).select_from(User))).one() == users_before

    async def test_bad_fields_are_named(self, auth_client: httpx.AsyncClient, new_account: Callable[[], dict[str, str]]) -> None:
        response = await auth_client.post(
            "/api/auth/register", json={"email": "nope", "username": "a b", "password": "short"}
        )
        assert response.status_code == 422
        errors = response.json()["errors"]
        assert set(errors) == {"email", "username", "password"}

    async def test_malformed_json_is_422_not_500(self, auth_client: httpx.AsyncClient, new_account: Callable[[], dict[str, str]]) -> None:
        response = await auth_client.post(
            "/api/auth/register", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert response.status_code == 422
        assert "body" in response.json()["errors"]


class TestLogin:
    async def test_login_and_me(self, auth_client: httpx.AsyncClient, new_account: Callable[[], dict[str, str]]) -> None:
        account = new_account()
        await auth_client.post("/api/auth/register", json=account)
        response = await auth_client.post(
            "/api/auth/login", json={"email": account["email"].upper(), "password": account["password"]}
        )
        assert response.status_code == 200, response.text
        token = response.json()["access_token"]
        me = await auth_client.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200
        assert me.json()["username"] == account["username"]

    async def test_unknown_email_and_wrong_password_look_the_same(
        self, auth_client: httpx.AsyncClient, new_account: Callable[[], dict[str, str]]
    ) -> None:
        account = new_account()
        await auth_client.post("/api/auth/register", json=account)
        wrong = await auth_client.post(
            "/api/auth/login", json={"email": account["email"], "password": "wrong password"}
        )
        unknown = await auth_client.post(
            "/api/auth/login", json={"email": "nobody@example.com", "password": "wrong password"}
        )
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.json() == unknown.json()


class TestEmailConfirmation:
    async def test_confirm_once(self, auth_client: httpx.AsyncClient, new_account: Callable[[], dict[str, str]]) -> None:
        account = new_account()
        await auth_client.post("/api/auth/register", json=account)
        token = await _confirmation_token(auth_client, account["email"])
        response = await auth_client.post("/api/auth/email/confirm", json={"token": token})
        assert response.status_code == 200, response.text
        assert response.json()["is_email_confirmed"] is True
        again = await auth_client.post("/api/auth/email/confirm", json={"token": token})
        assert again.status_code == 400
        assert again.json()["code"] == "invalid_token"

    async def test_resend_invalidates_the_previous_link(self, auth_client: httpx.AsyncClient, new_account: Callable[[], dict[str, str]]) -> None:
        account = new_account()
        registered = (await auth_client.post("/api/auth/register", json=account)).json()
        first = await _confirmation_token(auth_client, account["email"])
        response = await auth_client.post(
            "/api/auth/email/resend", headers={"Authorization": f"Bearer {registered['access_token']}"}
        )
        assert response.status_code == 202
        second = await _confirmation_token(auth_client, account["email"])
        assert first != second
        assert (await auth_client.post("/api/auth/email/confirm", json={"token": first})).status_code == 400
        assert (await auth_client.post("/api/auth/email/confirm", json={"token": second})).status_code == 200


async def _confirmation_token(client: httpx.AsyncClient, email: str) -> str:
    """The token from the newest confirmation event's link, as the mail would carry it."""

    async with runtime(client).db.session() as session:
        rows = (await session.exec(select(OutboxEvent).where(
            OutboxEvent.type == "auth.email_confirmation_requested"))).all()
    links = [json.loads(r.payload)["data"] for r in sorted(rows, key=lambda r: r.created_at)]
    link = [d["link"] for d in links if d["email"] == email][-1]
    assert link.startswith("https://parley.example/email-verify/")
    return str(link.rsplit("/", 1)[1])


class TestUnused:
    async def test_email_tokens_are_stored_hashed(self, auth_client: httpx.AsyncClient, new_account: Callable[[], dict[str, str]]) -> None:
        account = new_account()
        await auth_client.post("/api/auth/register", json=account)
        token = await _confirmation_token(auth_client, account["email"])
        async with runtime(auth_client).db.session() as session:
            hashes = [t.token_hash for t in (await session.exec(select(EmailToken))).all()]
        assert token not in hashes
