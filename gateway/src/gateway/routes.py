"""The gateway's route table: every public API path, its upstream and its policy.

A request's route is its exact path's entry if it has one, else the first pattern entry that
matches it, else the first prefix entry it falls under. The route says who may call (public,
any signed-in user, staff, an API key with which scope), how large a body may be, and what the
answer does to the refresh cookie; `main.forward` authenticates, sends and applies exactly
that. A path under no entry is a 404, as is any path with dot segments.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

AUTH = "auth"
CHAT = "chat"
SAFE_METHODS = frozenset({"GET", "HEAD"})  # reads: they change nothing

# (method, status) of an answer -> whether the browser's refresh cookie is dead after it
Clears = Callable[[str, int], bool]


def never(method: str, status: int) -> bool:
    return False


def always(method: str, status: int) -> bool:
    return True


def on(method: str | None, status: int) -> Clears:
    return lambda m, s: (method is None or m == method) and s == status


@dataclass(frozen=True)
class Route:
    path: str  # an exact path, or a prefix when `prefix`
    upstream: str
    prefix: bool = False
    public: bool = False  # reachable without an access token
    staff: bool = False  # staff tokens only (the service checks the database again)
    # the API-key scope it needs (GETs also take `read`); None: never with a key (§11)
    scope: str | None = None
    upload: bool = False  # the upload body limit instead of the JSON one
    issues_cookie: bool = False  # a 2xx answer's refresh token becomes the cookie
    reads_cookie: bool = False  # a POST gets the cookie's token in its body (CSRF-checked)
    clears_cookie: Clears = never

    def matches(self, path: str) -> bool:
        if not self.prefix:
            return path == self.path
        return path == self.path.rstrip("/") or path.startswith(self.path)


EXACT: dict[str, Route] = {
    r.path: r
    for r in (
        Route("/api/auth/register", AUTH, public=True, issues_cookie=True),
        Route("/api/auth/login", AUTH, public=True, issues_cookie=True),
        # a refresh the cookie's token cannot pay for (expired, revoked, reused) drops it
        Route(
            "/api/auth/refresh",
            AUTH,
            public=True,
            issues_cookie=True,
            reads_cookie=True,
            clears_cookie=on(None, 401),
        ),
        Route("/api/auth/logout", AUTH, public=True, reads_cookie=True, clears_cookie=always),
        Route("/api/auth/email/confirm", AUTH, public=True),
        Route("/api/auth/password/forgot", AUTH, public=True),
        Route("/api/auth/password/reset", AUTH, public=True),
        Route("/api/auth/logout-all", AUTH, clears_cookie=on("POST", 204)),
        Route("/api/users/me", AUTH, clears_cookie=on("DELETE", 204)),
        Route("/api/users/me/avatar", AUTH, upload=True),
    )
}
# paths with an id in them (the first match wins)
PATTERNS: tuple[tuple[re.Pattern[str], Route], ...] = (
    (
        re.compile(r"^/api/agents/[^/]+/avatar$"),
        Route("/api/agents/", CHAT, upload=True, scope="chat"),
    ),
    (re.compile(r"^/api/agents/avatars/[^/]+$"), Route("/api/agents/", CHAT, public=True)),
    # budgets and usage are chat's (it counts the tokens); users themselves are auth's
    (re.compile(r"^/api/admin/users/[^/]+/budget$"), Route("/api/admin/", CHAT, staff=True)),
    (re.compile(r"^/api/admin/usage$"), Route("/api/admin/", CHAT, staff=True)),
)
# the first match wins; each prefix is also the metrics label of what falls under it
PREFIXES: tuple[Route, ...] = (
    Route("/api/auth/", AUTH, prefix=True),
    Route("/api/users/", AUTH, prefix=True),
    Route("/api/avatars/", AUTH, prefix=True, public=True),
    Route("/api/admin/", AUTH, prefix=True, staff=True),
    Route("/api/keys", AUTH, prefix=True),
    Route("/api/dialogs", CHAT, prefix=True, scope="chat"),
    Route("/api/messages/", CHAT, prefix=True, scope="chat"),
    Route("/api/models", CHAT, prefix=True, scope="chat"),
    Route("/api/agents", CHAT, prefix=True, scope="chat"),
    Route("/api/webhooks", CHAT, prefix=True, scope="webhooks"),
    Route("/api/workspaces", CHAT, prefix=True, scope="chat"),
    Route("/api/invitations", CHAT, prefix=True),  # never with a key: people join, not programs
    Route("/api/usage", CHAT, prefix=True, scope="read"),
    # OpenAI's API for programs (§12)
    Route("/v1/webhook_endpoints", CHAT, prefix=True, scope="webhooks"),
    Route("/v1/", CHAT, prefix=True, scope="chat"),
)


def label_for(path: str) -> str:
    """The metrics label of a proxied path: its prefix, never ids."""
    return next((r.path for r in PREFIXES if r.matches(path)), "unmatched")


def route_for(path: str) -> Route | None:
    """The route of a public path; None (404) for unknown paths and any with dot segments."""
    if "\\" in path or any(segment in (".", "..") for segment in path.split("/")):
        return None  # `/api/messages/../../internal/...` must never reach a service
    if (route := EXACT.get(path)) is not None:
        return route
    if (route := next((r for p, r in PATTERNS if p.match(path)), None)) is not None:
        return route
    return next((r for r in PREFIXES if r.matches(path)), None)
