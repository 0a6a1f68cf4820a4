"""One error model: `AppError` and its subclasses render as RFC 9457 problem+json.

Raise an `AppError` subclass from any layer; `install_error_handlers` turns it, FastAPI's
validation errors and Starlette's HTTP errors into the same JSON shape, so no client ever sees an
HTML error page or a bare 500 for bad input.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from kit.logging import REQUEST_ID_HEADER, request_id_var

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"


class AppError(Exception):
    """Base of every error a client may see. `code` is a stable machine string."""

    status_code: int = 400
    code: str = "bad_request"
    # True for a refusal that must still record what it found (e.g. revoking a session on
    # refresh-token reuse): the request's transaction commits before the error is sent.
    keep_changes: bool = False

    def __init__(
        self,
        message: str | None = None,
        *,
        status_code: int | None = None,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if status_code is not None:
            self.status_code = status_code
        if code is not None:
            self.code = code
        self.message = message or HTTPStatus(self.status_code).phrase
        self.headers = dict(headers or {})
        super().__init__(self.message)

    def extra(self) -> dict[str, Any]:
        return {}


class NotFound(AppError):
    status_code = 404
    code = "not_found"


class Unauthorized(AppError):
    status_code = 401
    code = "not_authenticated"

    def __init__(self, message: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.headers.setdefault("WWW-Authenticate", "Bearer")


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"


class Conflict(AppError):
    status_code = 409
    code = "conflict"


class FieldErrors(AppError):
    """A 422 naming the fields at fault, e.g. `FieldErrors({"email": ["already taken"]})`."""

    status_code = 422
    code = "validation_error"

    def __init__(self, errors: Mapping[str, Sequence[str]], *, code: str | None = None) -> None:
        super().__init__("The request has invalid fields.", code=code)
        self.errors = {field: list(messages) for field, messages in errors.items()}

    def extra(self) -> dict[str, Any]:
        return {"errors": self.errors}


class TooManyRequests(AppError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str | None = None, *, retry_after: int, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.headers["Retry-After"] = str(max(1, int(retry_after)))


class ServiceUnavailable(AppError):
    status_code = 503
    code = "unavailable"

    def __init__(self, message: str | None = None, *, retry_after: int = 5, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.headers["Retry-After"] = str(max(1, int(retry_after)))


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


OPENAI_PREFIX = "/v1/"
# our problem codes that OpenAI's SDKs know by another name (docs/DESIGN.md §12)
_OPENAI_CODES = {"budget_exceeded": "insufficient_quota", "rate_limited": "rate_limit_exceeded"}
_OPENAI_TYPES = {401: "authentication_error", 403: "permission_error", 429: "rate_limit_error"}


def openai_error(
    status: int,
    code: str,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    errors: Mapping[str, Sequence[str]] | None = None,
    **_: Any,
) -> JSONResponse:
    """An error in OpenAI's shape, for the `/v1` API: `{"error": {message, type, param, code}}`
    with OpenAI's statuses (a bad field is a 400 there, naming it in `param`)."""
    if status == 422:
        status = 400
    param = next(iter(errors), None) if errors else None
    message = f"{param}: {errors[param][0]}" if errors and param else detail
    kind = (
        "insufficient_quota"
        if code == "budget_exceeded"
        else "server_error"
        if status >= 500
        else _OPENAI_TYPES.get(status, "invalid_request_error")
    )
    body = {
        "error": {
            "message": message,
            "type": kind,
            "param": param,
            "code": _OPENAI_CODES.get(code, code),
        }
    }
    return JSONResponse(body, status_code=status, headers=headers)


def error_response(
    path: str,
    status: int,
    code: str,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """The error as the API at `path` speaks it: OpenAI's shape under `/v1`, else a problem."""
    render = openai_error if path.startswith(OPENAI_PREFIX) else problem
    return render(status, code, detail, headers=headers, **extra)


def validation_errors(exc: RequestValidationError) -> dict[str, list[str]]:
    """FastAPI's error list as `{field: [message, ...]}`; the body itself is field `body`."""
    errors: dict[str, list[str]] = {}
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ())]
        if loc and loc[0] in ("body", "query", "path", "header", "cookie"):
            loc = loc[1:]  # the location kind, not a field
        field = "body" if err.get("type") == "json_invalid" else ".".join(loc) or "body"
        message = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        errors.setdefault(field, []).append(message)
    return errors


_STATUS_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(request: Request) -> str:
    """Every method some route of the app serves at the request's path (routing's own test)."""
    routes = request.app.router.routes
    allowed = [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes
        )
    ]
    return ", ".join(allowed)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> JSONResponse:
        return error_response(
            request.url.path,
            exc.status_code,
            exc.code,
            exc.message,
            headers=exc.headers,
            **exc.extra(),
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(
            request.url.path,
            422,
            "validation_error",
            "The request has invalid fields.",
            errors=validation_errors(exc),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "http_error")
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names only the first route on the path; a path's GET and POST are often
            # two routes, so the Allow header is made from all of them
            headers["Allow"] = allowed_methods(request)
        return error_response(request.url.path, exc.status_code, code, detail, headers=headers)

    @app.exception_handler(RedisConnectionError)
    @app.exception_handler(RedisTimeoutError)
    async def _redis_away(request: Request, exc: Exception) -> JSONResponse:
        # a dependency that is down is a 503 the client may retry, wherever it was met
        log.warning("Redis unavailable: %s", exc)
        return error_response(
            request.url.path,
            503,
            "unavailable",
            "The service is briefly unavailable; try again shortly.",
            headers={"Retry-After": "2"},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Runs outside the request-id middleware (Starlette's outermost layer), so the id
        # comes from the request state it left behind.
        rid = getattr(request.state, "request_id", None)
        token = request_id_var.set(rid)
        try:
            log.exception("unhandled error", exc_info=exc)
        finally:
            request_id_var.reset(token)
        headers = {REQUEST_ID_HEADER: rid} if rid else None
        return error_response(
            request.url.path,
            500,
            "internal_error",
            "Something went wrong on our side.",
            headers=headers,
        )
