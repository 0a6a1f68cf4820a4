"""Which upstream serves which public path, and which paths need no access token."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Upstream:
    name: str
    public: bool  # reachable without an access token


AUTH = "auth"
CHAT = "chat"

# (path prefix, upstream); the first match wins
PREFIXES: tuple[tuple[str, str], ...] = (
    ("/api/auth/", AUTH),
    ("/api/users/", AUTH),
    ("/api/avatars/", AUTH),
    ("/api/admin/", AUTH),
    ("/api/dialogs", CHAT),
    ("/api/messages/", CHAT),
    ("/api/models", CHAT),
    ("/api/webhooks", CHAT),
)

PUBLIC_PATHS = frozenset(
    {
        "/api/auth/register",
        "/api/auth/login",
        "/api/auth/refresh",
        "/api/auth/logout",
        "/api/auth/email/confirm",
        "/api/auth/password/forgot",
        "/api/auth/password/reset",
    }
)

# Only staff tokens get through (auth checks the database again).
STAFF_PREFIX = "/api/admin/"

# Endpoints whose response carries a refresh token that becomes the cookie.
TOKEN_ISSUERS = frozenset({"/api/auth/register", "/api/auth/login", "/api/auth/refresh"})
# Endpoints that read the refresh cookie (CSRF-checked).
COOKIE_READERS = frozenset({"/api/auth/refresh", "/api/auth/logout"})


def label_for(path: str) -> str:
    """The metrics label of a proxied path: its prefix, never ids."""
    return next((p for p, _ in PREFIXES if path.startswith(p.rstrip("/"))), "unmatched")


def upstream_for(path: str) -> Upstream | None:
    """The service for a public path; None (404) for unknown paths and any with dot segments."""
    if "\\" in path or any(segment in (".", "..") for segment in path.split("/")):
        return None  # `/api/messages/../../internal/...` must never reach a service
    for prefix, name in PREFIXES:
        if path == prefix.rstrip("/") or path.startswith(prefix):
            public = path in PUBLIC_PATHS or path.startswith("/api/avatars/")
            return Upstream(name, public)
    return None
