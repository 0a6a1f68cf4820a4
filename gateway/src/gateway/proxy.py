"""Forwarding a public request to its upstream service and streaming the answer back.

Only an allowlist of request headers crosses the gateway, so identity or forwarding headers a
client makes up never reach a service; the gateway sets `X-Real-IP` and `X-Request-ID` itself.
Responses are streamed chunk by chunk (SSE passes through unbuffered).
"""

from __future__ import annotations

import httpx
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from kit.errors import AppError, ServiceUnavailable
from kit.logging import REQUEST_ID_HEADER, request_id_var

FORWARDED_REQUEST_HEADERS = (
    "accept",
    "accept-language",
    "authorization",
    "content-type",
    "idempotency-key",
    "if-none-match",
    "last-event-id",
    "user-agent",
)
DROPPED_RESPONSE_HEADERS = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "server", "date",
     "x-request-id"}
)


class PayloadTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
    return bytes(body)


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def upstream_headers(request: Request) -> dict[str, str]:
    headers = {k: v for k in FORWARDED_REQUEST_HEADERS if (v := request.headers.get(k)) is not None}
    headers["x-real-ip"] = client_ip(request)
    if (rid := request_id_var.get()) is not None:
        headers[REQUEST_ID_HEADER] = rid
    return headers


async def send_upstream(
    client: httpx.AsyncClient,
    request: Request,
    base_url: str,
    body: bytes,
    *,
    content_type: str | None = None,
) -> httpx.Response:
    headers = upstream_headers(request)
    if content_type is not None:
        headers["content-type"] = content_type
    upstream = client.build_request(
        request.method,
        base_url.rstrip("/") + request.url.path,
        params=request.query_params.multi_items(),
        headers=headers,
        content=body,
    )
    try:
        return await client.send(upstream, stream=True)
    except httpx.TimeoutException as exc:
        raise AppError("The service took too long to answer.", status_code=504, code="upstream_timeout") from exc
    except httpx.TransportError as exc:
        raise ServiceUnavailable("The service is unavailable; try again shortly.") from exc


def response_headers(upstream: httpx.Response) -> list[tuple[str, str]]:
    return [(k, v) for k, v in upstream.headers.multi_items() if k.lower() not in DROPPED_RESPONSE_HEADERS]


def stream_back(upstream: httpx.Response) -> Response:
    response = StreamingResponse(
        upstream.aiter_raw(), status_code=upstream.status_code, background=BackgroundTask(upstream.aclose)
    )
    response.raw_headers = [
        (k.encode("latin-1"), v.encode("latin-1")) for k, v in response_headers(upstream)
    ]
    return response
