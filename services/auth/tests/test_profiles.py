from __future__ import annotations

import io
import struct
import zlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from PIL import Image

from kit.avatars import images

from .conftest import Api


def picture(fmt: str, size: tuple[int, int] = (300, 200), **save: Any) -> bytes:
    """Left half red, right half blue, so orientation can be checked after processing."""
    image = Image.new("RGB", size, (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, size[0] // 2, size[1]))
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


def png_bomb(width: int, height: int) -> bytes:
    """A valid 1-bit PNG claiming width x height pixels, compressed to almost nothing."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(min(height, 2000))) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def jpeg_claiming(width: int, height: int) -> bytes:
    """A small real JPEG whose frame header claims other dimensions."""
    data = bytearray(picture("JPEG", (64, 64)))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def exif_jpeg() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    exif[0x010E] = "secret-location-47.3N"  # ImageDescription
    exif[0x013B] = "Artist Name"
    return picture("JPEG", (300, 200), exif=exif.tobytes(), quality=95)


class TestImages:
    @pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
    def test_formats_become_square_webp_in_two_sizes(self, fmt: str) -> None:
        result = images.process(picture(fmt, (1200, 800)), max_pixels=16_000_000)
        for data, side in ((result.large, 512), (result.small, 128)):
            with Image.open(io.BytesIO(data)) as out:
                assert out.format == "WEBP"
                assert out.size == (side, side)

    def test_small_pictures_are_not_enlarged(self) -> None:
        result = images.process(picture("PNG", (100, 80)), max_pixels=16_000_000)
        with Image.open(io.BytesIO(result.large)) as out:
            assert out.size == (80, 80)

    def test_exif_orientation_applied_and_metadata_stripped(self) -> None:
        result = images.process(exif_jpeg(), max_pixels=16_000_000)
        assert b"secret-location" not in result.large
        assert b"Artist" not in result.large
        with Image.open(io.BytesIO(result.large)) as out:
            assert not out.getexif()
            assert not {"exif", "icc_profile", "xmp"} & set(out.info)
            rgb = out.convert("RGB")
            # upright, the left (red) half of the stored picture is the top
            top, bottom = (
                rgb.getpixel((out.width // 2, 10)),
                rgb.getpixel((out.width // 2, out.height - 10)),
            )
        assert top[0] > 200, top
        assert top[2] < 60, top
        assert bottom[2] > 200, bottom
        assert bottom[0] < 60, bottom

    def test_transparency_survives(self) -> None:
        image = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
        out = io.BytesIO()
        image.save(out, "PNG")
        result = images.process(out.getvalue(), max_pixels=16_000_000)
        with Image.open(io.BytesIO(result.small)) as webp:
            assert webp.mode == "RGBA"
            assert webp.getpixel((5, 5))[3] == 0

    @pytest.mark.parametrize(
        ("data", "code"),
        [
            (png_bomb(20_000, 20_000), "image_too_large"),  # 400 megapixels in a few hundred bytes
            (png_bomb(4_100, 4_000), "image_too_large"),  # just over 16 megapixels
            (jpeg_claiming(65_000, 65_000), "image_too_large"),
            (b"GIF89a" + b"\x00" * 100, "unsupported_image"),
            (
                b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
                "unsupported_image",
            ),
            (b"<html><script>alert(1)</script></html>", "unsupported_image"),
            (
                b"\x89PNG\r\n\x1a\n<script>alert(1)</script>",
                "invalid_image",
            ),  # PNG magic, HTML body
            (b"\xff\xd8\xff\xe0" + b"\x00" * 50, "invalid_image"),  # truncated JPEG
            (b"RIFF\x00\x00\x00\x00WEBPVP8X" + b"\xff" * 30, "image_too_large"),  # huge canvas
            (b"RIFF\x20\x00\x00\x00WEBPVP8 " + b"\x01" * 24, "invalid_image"),
            (b"", "unsupported_image"),
        ],
    )
    def test_bad_files_are_refused_without_decoding(self, data: bytes, code: str) -> None:
        with pytest.raises(images.InvalidImage) as caught:
            images.process(data, max_pixels=16_000_000)
        assert caught.value.code == code

    def test_a_polyglot_loses_its_payload(self) -> None:
        payload = b"<html><script>alert(document.cookie)</script></html>PK\x03\x04zip-here"
        result = images.process(picture("PNG") + payload, max_pixels=16_000_000)
        assert b"script" not in result.large
        assert b"PK\x03\x04" not in result.large
        assert result.large.startswith(b"RIFF")
        assert result.large[8:12] == b"WEBP"


class TestProfile:
    async def test_read_and_update_names(self, api: Any, auth_client: httpx.AsyncClient) -> None:
        registered = await api.register()
        got = await auth_client.get("/api/users/me/profile", headers=registered["auth"])
        assert got.json() == {"first_name": "", "last_name": "", "avatar_url": None}
        patched = await auth_client.patch(
            "/api/users/me/profile",
            json={"first_name": "  Ada ", "last_name": "Lovelace"},
            headers=registered["auth"],
        )
        assert patched.status_code == 200
        assert patched.json() == {"first_name": "Ada", "last_name": "Lovelace", "avatar_url": None}
        only_last = await auth_client.patch(
            "/api/users/me/profile", json={"last_name": "King"}, headers=registered["auth"]
        )
        assert only_last.json()["first_name"] == "Ada"
        too_long = await auth_client.patch(
            "/api/users/me/profile", json={"first_name": "x" * 33}, headers=registered["auth"]
        )
        assert too_long.status_code == 422
        assert "first_name" in too_long.json()["errors"]
        control = await auth_client.patch(
            "/api/users/me/profile", json={"last_name": "a\u202eb"}, headers=registered["auth"]
        )
        assert control.status_code == 422
        me = await auth_client.get("/api/users/me", headers=registered["auth"])
        assert me.json()["profile"]["last_name"] == "King"

    async def test_profile_needs_a_token(self, auth_client: httpx.AsyncClient) -> None:
        assert (await auth_client.get("/api/users/me/profile")).status_code == 401


class TestAvatar:
    async def test_upload_serve_replace_delete(
        self, api: Any, auth_client: httpx.AsyncClient
    ) -> None:
        registered = await api.register()
        files = {
            "file": ("me.html", exif_jpeg(), "text/html")
        }  # the name and type lie; content rules
        uploaded = await auth_client.put(
            "/api/users/me/avatar", files=files, headers=registered["auth"]
        )
        assert uploaded.status_code == 200, uploaded.text
        url = uploaded.json()["avatar_url"]
        assert url.startswith("https://parley.example/api/avatars/")
        assert url.endswith(".webp")
        name = url.rsplit("/", 1)[1]
        served = await auth_client.get(f"/api/avatars/{name}")
        assert served.status_code == 200
        assert served.headers["content-type"] == "image/webp"
        assert served.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in served.headers["content-security-policy"]
        assert "max-age=31536000" in served.headers["cache-control"]
        thumb = await auth_client.get(f"/api/avatars/{name.removesuffix('.webp')}-128.webp")
        with Image.open(io.BytesIO(thumb.content)) as image:
            assert image.size == (128, 128)
        store = api.runtime.avatars
        assert store.path(name) is not None

        replaced = await auth_client.put(
            "/api/users/me/avatar",
            files={"file": ("a.png", picture("PNG"), "image/png")},
            headers=registered["auth"],
        )
        new_name = replaced.json()["avatar_url"].rsplit("/", 1)[1]
        assert new_name != name
        assert store.path(name) is None  # the old files are gone
        assert (await auth_client.get(f"/api/avatars/{name}")).status_code == 404
        me = await auth_client.get("/api/users/me", headers=registered["auth"])
        assert me.json()["profile"]["avatar_url"] == replaced.json()["avatar_url"]

        removed = await auth_client.delete("/api/users/me/avatar", headers=registered["auth"])
        assert removed.json()["avatar_url"] is None
        assert store.path(new_name) is None

    @pytest.mark.parametrize(
        ("data", "status", "code"),
        [
            (png_bomb(20_000, 20_000), 422, "image_too_large"),
            (b"<svg onload=alert(1)></svg>", 422, "unsupported_image"),
            (b"\x89PNG\r\n\x1a\n<script>alert(1)</script>", 422, "invalid_image"),
            (b"\xff\xd8\xff" + b"\x00" * (5 * 1024 * 1024), 413, "avatar_too_large"),
        ],
    )
    async def test_bad_uploads_are_refused_with_a_field_error(
        self, api: Any, auth_client: httpx.AsyncClient, data: bytes, status: int, code: str
    ) -> None:
        registered = await api.register()
        response = await auth_client.put(
            "/api/users/me/avatar",
            files={"file": ("x.png", data, "image/png")},
            headers=registered["auth"],
        )
        assert response.status_code == status, response.text
        assert response.json()["code"] == code
        assert list(response.json()["errors"]) == ["file"]
        profile = await auth_client.get("/api/users/me/profile", headers=registered["auth"])
        assert profile.json()["avatar_url"] is None

    async def test_oversized_upload_is_refused_before_its_body_is_read(
        self, api: Any, auth_client: httpx.AsyncClient
    ) -> None:
        registered = await api.register()
        sent: list[int] = []

        async def body() -> AsyncIterator[bytes]:
            for _ in range(6):
                sent.append(1)
                yield b"\x00" * 1024 * 1024

        response = await auth_client.put(
            "/api/users/me/avatar",
            content=body(),
            headers={
                **registered["auth"],
                "content-type": "multipart/form-data; boundary=x",
                "content-length": str(6 * 1024 * 1024),
            },
        )
        assert response.status_code == 413
        assert response.json()["code"] == "payload_too_large"
        assert len(sent) <= 1  # refused from Content-Length, not after reading 6 MB

    async def test_uploads_are_limited_per_user(self, auth_variant: Any) -> None:
        async with auth_variant(avatar_uploads_per_hour=2) as client:
            api = Api(client)
            registered = await api.register()
            statuses = []
            for _ in range(3):
                response = await client.put(
                    "/api/users/me/avatar",
                    files={"file": ("a.png", picture("PNG"), "image/png")},
                    headers=registered["auth"],
                )
                statuses.append(response.status_code)
            assert statuses == [200, 200, 429]
            assert response.json()["code"] == "rate_limited"
            assert int(response.headers["retry-after"]) > 1000  # one more every 30 minutes
            assert response.headers["ratelimit-policy"] == '"avatars";q=2;w=3600'

    async def test_missing_file_and_wrong_encoding(
        self, api: Any, auth_client: httpx.AsyncClient
    ) -> None:
        registered = await api.register()
        missing = await auth_client.put(
            "/api/users/me/avatar", files={"other": ("x", b"1")}, headers=registered["auth"]
        )
        assert missing.status_code == 422
        assert "file" in missing.json()["errors"]
        as_json = await auth_client.put(
            "/api/users/me/avatar", json={"file": "x"}, headers=registered["auth"]
        )
        assert as_json.status_code == 422

    @pytest.mark.parametrize(
        "name", ["../auth.db", "..%2Fauth.db", "x.webp", "a" * 22 + ".png", "keys"]
    )
    async def test_only_generated_names_are_served(
        self, auth_client: httpx.AsyncClient, name: str
    ) -> None:
        response = await auth_client.get(f"/api/avatars/{name}")
        assert response.status_code == 404
