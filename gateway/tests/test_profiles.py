"""Profiles and avatars through the gateway, and the staff-only admin API."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

import httpx
from PIL import Image

from auth_service.accounts.service import create_user
from auth_service.passwords import Passwords


def jpeg(size: tuple[int, int] = (640, 480)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 200, 30)).save(out, "JPEG")
    return out.getvalue()


def png_bomb(side: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    idat = zlib.compress(b"\x00" * (1 + side // 8) * 100, 9)
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


class TestAvatarThroughTheGateway:
    async def test_upload_and_serve_with_safe_headers(
        self, gw: Any, gateway: httpx.AsyncClient
    ) -> None:
        registered = await gw.register()
        uploaded = await gateway.put(
            "/api/users/me/avatar",
            files={"file": ("photo.jpg", jpeg(), "image/jpeg")},
            headers=registered["auth"],
        )
        assert uploaded.status_code == 200, uploaded.text
        assert uploaded.headers["cache-control"] == "no-store"
        path = uploaded.json()["avatar_url"].removeprefix("https://parley.example")
        served = await gateway.get(path)  # public: no token needed
        assert served.status_code == 200
        assert served.headers["content-type"] == "image/webp"
        assert served.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in served.headers["content-security-policy"]
        assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
        with Image.open(io.BytesIO(served.content)) as image:
            assert image.format == "WEBP"
            assert image.size == (480, 480)

    async def test_bombs_and_polyglots_are_422_never_500(
        self, gw: Any, gateway: httpx.AsyncClient
    ) -> None:
        registered = await gw.register()
        for data in (
            png_bomb(30_000),
            b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script></html>",
            b"GIF89a<script>alert(1)</script>",
            b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
        ):
            response = await gateway.put(
                "/api/users/me/avatar",
                files={"file": ("a.png", data, "image/png")},
                headers=registered["auth"],
            )
            assert response.status_code == 422, response.text
            assert response.headers["content-type"] == "application/problem+json"
            assert "file" in response.json()["errors"]

    async def test_size_limits(self, gw: Any, gateway: httpx.AsyncClient) -> None:
        registered = await gw.register()
        over_five = b"\xff\xd8\xff" + b"\x00" * (5 * 1024 * 1024 + 10)
        at_auth = await gateway.put(
            "/api/users/me/avatar",
            files={"file": ("a.jpg", over_five, "image/jpeg")},
            headers=registered["auth"],
        )
        assert at_auth.status_code == 413
        assert at_auth.json()["code"] == "avatar_too_large"
        at_gateway = await gateway.put(
            "/api/users/me/avatar",
            files={"file": ("a.jpg", b"\x00" * 6_100_000, "image/jpeg")},
            headers=registered["auth"],
        )
        assert at_gateway.status_code == 413
        assert at_gateway.json()["code"] == "payload_too_large"
        json_elsewhere = await gateway.patch(
            "/api/users/me/profile",
            content=b'{"first_name": "' + b"x" * 1_100_000 + b'"}',
            headers={**registered["auth"], "content-type": "application/json"},
        )
        assert json_elsewhere.status_code == 413

    async def test_avatar_needs_a_token_and_unknown_names_are_404(
        self, gateway: httpx.AsyncClient
    ) -> None:
        response = await gateway.put(
            "/api/users/me/avatar", files={"file": ("a.jpg", jpeg(), "image/jpeg")}
        )
        assert response.status_code == 401
        assert (await gateway.get("/api/avatars/AAAAAAAAAAAAAAAAAAAAAA.webp")).status_code == 404
        assert (await gateway.get("/api/avatars/..%2F..%2Fauth.db")).status_code == 404

    async def test_profile_update(self, gw: Any, gateway: httpx.AsyncClient) -> None:
        registered = await gw.register()
        response = await gateway.patch(
            "/api/users/me/profile",
            json={"first_name": "Grace", "last_name": "Hopper"},
            headers=registered["auth"],
        )
        assert response.json() == {"first_name": "Grace", "last_name": "Hopper", "avatar_url": None}


class TestAdminThroughTheGateway:
    async def test_non_staff_is_stopped_at_the_gateway(
        self, gw: Any, gateway: httpx.AsyncClient
    ) -> None:
        user = await gw.register()
        response = await gateway.get("/api/admin/users", headers=user["auth"])
        assert response.status_code == 403
        assert response.json()["code"] == "forbidden"

    async def test_staff_deactivates_a_user_whose_token_stops_at_once(
        self, gw: Any, gateway: httpx.AsyncClient
    ) -> None:
        tag = gw_tag()
        async with gw.db.session() as session:
            await create_user(
                Passwords(memory_kib=1024, time_cost=1, parallelism=1, concurrency=1),
                session,
                email=f"admin-{tag}@example.com",
                username=f"admin_{tag}",
                password="admin horse 42",
                is_staff=True,
            )
        staff = (await gw.login(f"admin-{tag}@example.com", "admin horse 42")).json()
        headers = {"Authorization": f"Bearer {staff['access_token']}"}
        user = await gw.register()
        found = await gateway.get(
            f"/api/admin/users?q={user['account']['username']}", headers=headers
        )
        assert found.status_code == 200
        assert found.headers["cache-control"] == "no-store"
        assert [u["id"] for u in found.json()["data"]] == [user["user"]["id"]]
        off = await gateway.patch(
            f"/api/admin/users/{user['user']['id']}", json={"is_active": False}, headers=headers
        )
        assert off.status_code == 200
        refused = await gateway.get("/api/dialogs", headers=user["auth"])
        assert refused.json()["code"] == "session_revoked"


def gw_tag() -> str:
    import uuid

    return uuid.uuid4().hex[:8]
