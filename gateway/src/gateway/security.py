"""Response headers every gateway answer carries, and the CSP for the web UI."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Answers that carry tokens or personal data must not be kept by browsers or shared caches.
NO_STORE_PREFIXES = ("/api/auth/", "/api/users/", "/api/admin/")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]

        async def add_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                extra = {
                    b"x-content-type-options": b"nosniff",
                    b"referrer-policy": b"no-referrer",
                    b"x-frame-options": b"DENY",
                }
                if path.startswith(NO_STORE_PREFIXES):
                    extra[b"cache-control"] = b"no-store"
                if not path.startswith("/api/") and not path.startswith("/dev/"):
                    extra[b"content-security-policy"] = CSP.encode()
                if self.hsts:
                    extra[b"strict-transport-security"] = b"max-age=31536000; includeSubDomains"
                headers += [(k, v) for k, v in extra.items() if k not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, add_headers)
