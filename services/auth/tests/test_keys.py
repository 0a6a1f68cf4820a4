from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt

from auth_service.keys import KeyRing
from kit import jwt as kjwt

Variant = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


def kid_of(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


class TestKeyRing:
    def test_a_new_key_is_published_before_it_signs(self, tmp_path: Path) -> None:
        ring = KeyRing(tmp_path, activation_seconds=3600).load()
        first = kjwt.key_id(ring.signing.public_key())
        ring.rotate()
        kids = [k["kid"] for k in ring.jwks()["keys"]]
        assert len(kids) == 2
        assert first in kids
        assert kjwt.key_id(ring.signing.public_key()) == first  # not active yet

    def test_activation_and_retirement(self, tmp_path: Path) -> None:
        ring = KeyRing(tmp_path, activation_seconds=0, reload_seconds=0).load()
        old = kjwt.key_id(ring.signing.public_key())
        time.sleep(0.01)
        ring.rotate()
        new = kjwt.key_id(ring.signing.public_key())
        assert new != old
        assert ring.retire(timedelta(minutes=16)) == []  # old tokens may still be alive
        removed = ring.retire(timedelta(0))
        assert len(removed) == 1
        assert [k["kid"] for k in ring.jwks()["keys"]] == [new]
        assert list(tmp_path.glob("signing-*.pem")) == [
            p for p in tmp_path.iterdir() if p.suffix == ".pem"
        ]

    def test_other_processes_pick_up_a_rotation(self, tmp_path: Path) -> None:
        mine = KeyRing(tmp_path, activation_seconds=0, reload_seconds=0).load()
        theirs = KeyRing(tmp_path, activation_seconds=0, reload_seconds=0).load()
        time.sleep(0.01)
        mine.rotate()
        assert len(theirs.jwks()["keys"]) == 2
        assert kjwt.key_id(theirs.signing.public_key()) == kjwt.key_id(mine.signing.public_key())
        assert (tmp_path.stat().st_mode & 0o777) == 0o700
        assert all((p.stat().st_mode & 0o777) == 0o600 for p in tmp_path.glob("*.pem"))


class TestRotationInService:
    async def test_new_tokens_use_the_new_key_and_old_ones_still_work(
        self, auth_variant: Variant, tmp_path: Path, new_account: Callable[[], dict[str, str]]
    ) -> None:
        async with auth_variant(
            signing_keys_dir_setting=tmp_path, key_activation_seconds=0
        ) as client:
            runtime: Any = client.app.state.runtime  # type: ignore[attr-defined]
            runtime.keys.reload_seconds = 0
            before = (await client.post("/api/auth/register", json=new_account())).json()
            time.sleep(0.01)
            runtime.keys.rotate()
            jwks = (await client.get("/.well-known/jwks.json")).json()
            assert len(jwks["keys"]) == 2
            assert all(k["alg"] == "EdDSA" and "d" not in k for k in jwks["keys"])
            after = (
                await client.post(
                    "/api/auth/refresh", json={"refresh_token": before["refresh_token"]}
                )
            ).json()
            assert kid_of(after["access_token"]) != kid_of(before["access_token"])
            for token in (before["access_token"], after["access_token"]):
                me = await client.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
                assert me.status_code == 200
