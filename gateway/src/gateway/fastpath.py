"""The proxy's short way through the application.

Every `/api/*` and `/v1/*` request (but the gateway's own `/api/openapi.json` and `/api/docs`)
is handed to the proxy handler from inside the middleware stack, so request ids, metrics,
security headers and CORS apply as to any route, while FastAPI's router, exception and
per-route layers are skipped: they cost about a quarter of the gateway's CPU per proxied
request and do nothing for it. Errors render as the services' do (a problem, or OpenAI's shape
under `/v1`); anything unexpected still reaches the server-error handler (a 500, logged).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from kit.errors import OPENAI_PREFIX, AppError, error_response


class ProxyFastPath:
    def __init__(
        self,
        app: ASGIApp,
        *,
        handler: Callable[[Request], Awaitable[Response]],
        own_paths: frozenset[str],
    ) -> None:
        self.app = app
        self.handler = handler
        self.own_paths = own_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        proxied = path.startswith(("/api/", OPENAI_PREFIX)) and path not in self.own_paths
        if scope["type"] != "http" or not proxied:
            await self.app(scope, receive, send)
            return
        # any method goes to the service, which knows what the path allows (its 405's Allow)
        response: Response
        try:
            response = await self.handler(Request(scope, receive))
        except AppError as exc:
            response = error_response(
                path, exc.status_code, exc.code, exc.message, headers=exc.headers, **exc.extra()
            )
        await response(scope, receive, send)
