"""Forwarding a public request to its upstream service and sending the answer back.

Only an allowlist of request headers crosses the gateway, so identity or forwarding headers a
client makes up never reach a service; the gateway sets `X-Real-IP` and `X-Request-ID` itself.
Small answers are relayed whole; event streams (SSE) and large bodies are streamed chunk by chunk,
unbuffered.

The data path uses aiohttp's client. httpx (still used for the JWKS, readiness and the OpenAPI
document) scans every pooled connection on each request; under 32 concurrent requests that cost
the gateway over half its throughput (see bench/gateway.py). The session keeps no cookies: an
upstream cookie must never be replayed for another user.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote

import aiohttp
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from yarl import URL

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
# Hop-by-hop headers, and those our own server sets (date, server, the request id).
DROPPED_RESPONSE_HEADERS = frozenset(
    {b"connection", b"keep-alive", b"transfer-encoding", b"server", b"date", b"x-request-id"}
)
STREAM_ABOVE_BYTES = 1_000_000
# Where the gateway puts the credential a service receives in place of the client's (an API
# key's access token, `api_keys`).
AUTHORIZATION_SCOPE_KEY = "parley.authorization"
PATH_SAFE = "/:@!$&'()*+,;=-._~"


class PayloadTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"


class UpstreamTimeout(AppError):
    status_code = 504
    code = "upstream_timeout"

    def __init__(self) -> None:
        super().__init__("The service took too long to answer.")


def upstream_session(*, read_timeout: float, connect_timeout: float = 5.0) -> aiohttp.ClientSession:
    """The pooled client for proxied requests; create it inside the running event loop."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=1000, limit_per_host=0, keepalive_timeout=30),
        timeout=aiohttp.ClientTimeout(
            total=None, sock_connect=connect_timeout, sock_read=read_timeout
        ),
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,  # bytes pass through exactly as the service sent them
        # add nothing the client did not send (no compression asked for on its behalf)
        skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent", "Content-Type"),
    )


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


def upstream_headers(request: Request, client_ip: str) -> dict[str, str]:
    headers = {k: v for k in FORWARDED_REQUEST_HEADERS if (v := request.headers.get(k)) is not None}
    headers["x-real-ip"] = client_ip
    if (authorization := request.scope.get(AUTHORIZATION_SCOPE_KEY)) is not None:
        headers["authorization"] = authorization
    if (rid := request_id_var.get()) is not None:
        headers[REQUEST_ID_HEADER] = rid
    return headers


async def send_upstream(
    session: aiohttp.ClientSession,
    request: Request,
    base_url: str,
    body: bytes,
    *,
    client_ip: str,
    content_type: str | None = None,
) -> aiohttp.ClientResponse:
    headers = upstream_headers(request, client_ip)
    if content_type is not None:
        headers["content-type"] = content_type
    scope = request.scope
    # the decoded path the routing decision was made on, encoded again: what was checked is what
    # the service receives (`%2F` cannot turn into a path separator behind our back)
    url = base_url.rstrip("/") + quote(scope["path"], safe=PATH_SAFE)
    if query := scope["query_string"]:
        url = f"{url}?{query.decode('latin-1')}"  # passed on exactly as the client encoded it
    try:
        return await session.request(
            request.method,
            URL(url, encoded=True),
            headers=headers,
            data=body or None,
            allow_redirects=False,
        )
    except TimeoutError as exc:
        raise UpstreamTimeout() from exc
    except aiohttp.ClientError as exc:
        raise ServiceUnavailable("The service is unavailable; try again shortly.") from exc


def _headers(upstream: aiohttp.ClientResponse) -> list[tuple[bytes, bytes]]:
    return [(k, v) for k, v in upstream.raw_headers if k.lower() not in DROPPED_RESPONSE_HEADERS]


async def read_all(upstream: aiohttp.ClientResponse) -> bytes:
    try:
        return await upstream.read()
    except TimeoutError as exc:
        raise UpstreamTimeout() from exc
    except aiohttp.ClientError as exc:
        raise ServiceUnavailable("The service answer was cut off; try again.") from exc
    finally:
        upstream.release()


async def respond(upstream: aiohttp.ClientResponse) -> Response:
    """The upstream's answer: event streams and large bodies streamed, the rest read whole.

    Most answers are small JSON; sending them in one piece saves the streaming machinery's
    per-chunk work. SSE (`text/event-stream`) is never buffered.
    """
    length = upstream.content_length
    if (
        upstream.content_type == "text/event-stream"
        or length is None
        or length > STREAM_ABOVE_BYTES
    ):
        return stream_back(upstream)
    body = await read_all(upstream)
    response = Response(body, status_code=upstream.status)
    response.raw_headers = _headers(upstream)
    return response


def stream_back(upstream: aiohttp.ClientResponse) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        finished = False
        try:
            async for chunk in upstream.content.iter_any():
                yield chunk
            finished = True
        except (TimeoutError, aiohttp.ClientError):
            return  # the service went away mid-stream: end ours too
        finally:
            # a stream the client left early must not go back to the pool half read
            if finished:
                upstream.release()
            else:
                upstream.close()

    response = StreamingResponse(chunks(), status_code=upstream.status)
    response.raw_headers = _headers(upstream)
    return response
