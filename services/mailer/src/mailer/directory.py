"""Where to write about an account: auth's `/internal/users/{id}/contact`.

Auth's own events carry the address; events from other services (chat's webhook warnings) name
only the user, so the mailer asks auth. An unreachable auth is a temporary failure (the handler
waits and asks again); an account that no longer exists, or is deactivated, gets no mail.
"""

from __future__ import annotations

import httpx

from mailer.config import MailerSettings

TIMEOUT = httpx.Timeout(5.0, connect=2.0)


class DirectoryUnavailable(Exception):
    pass


class AccountDirectory:
    def __init__(self, settings: MailerSettings) -> None:
        self.base = settings.auth_url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {settings.internal_token}"}
        self.http = httpx.AsyncClient(timeout=TIMEOUT)

    async def contact(self, user_id: str) -> dict[str, str] | None:
        """`{email, username}` of an active account; None when there is no one to write to."""
        try:
            response = await self.http.get(
                f"{self.base}/internal/users/{user_id}/contact", headers=self.headers
            )
        except httpx.HTTPError as exc:
            raise DirectoryUnavailable(f"auth unreachable: {type(exc).__name__}") from exc
        if response.status_code in (404, 422):
            return None
        if response.status_code != 200:
            raise DirectoryUnavailable(f"auth answered {response.status_code}")
        account = response.json()
        if not account.get("is_active"):
            return None
        return {"email": account["email"], "username": account["username"]}

    async def close(self) -> None:
        await self.http.aclose()
