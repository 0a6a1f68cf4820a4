"""One delivery attempt: sign, connect only to a checked public address, read little back."""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from chat_service.webhooks import addresses, signing

MAX_RESPONSE_BYTES = 4096
USER_AGENT = "Parley-Webhooks/1"


@dataclass
class Result:
    status_code: int | None
    error: str | None
    retry_after: float | None
    body: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    return float(value) if value.isdigit() else None


def post(
    url: str,
    secrets: list[str],
    delivery_id: str,
    payload: bytes,
    *,
    timeout: float,
    allow_private: bool,
    extra_ports: frozenset[int] = frozenset(),
) -> Result:
    started = time.monotonic()

    def done(
        status: int | None, error: str | None, retry_after: float | None = None, body: str = ""
    ) -> Result:
        return Result(status, error, retry_after, body, int((time.monotonic() - started) * 1000))

    try:
        scheme, host, _ = addresses.split(url, extra_ports)
        address = addresses.resolve(url, allow_private=allow_private, extra_ports=extra_ports)[0]
    except addresses.AddressRefused as exc:
        return done(None, str(exc))
    timestamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": delivery_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signing.sign_all(secrets, delivery_id, timestamp, payload),
        "host": httpx.URL(url).netloc.decode(),
    }
    # connect to the address we checked, while TLS and Host still name the real host
    target = httpx.URL(url).copy_with(host=address)
    extensions = {"sni_hostname": host} if scheme == "https" else {}
    try:
        with (
            httpx.Client(timeout=timeout, follow_redirects=False) as client,
            client.stream(
                "POST", target, content=payload, headers=headers, extensions=extensions
            ) as response,
        ):
            body = b""
            for chunk in response.iter_raw():
                body += chunk
                if len(body) >= MAX_RESPONSE_BYTES:
                    break
            return done(
                response.status_code,
                None,
                _retry_after(response),
                body[:MAX_RESPONSE_BYTES].decode(errors="replace"),
            )
    except httpx.TimeoutException:
        return done(None, "The receiver did not answer in time.")
    except httpx.HTTPError as exc:
        return done(None, f"Connection failed: {type(exc).__name__}")
