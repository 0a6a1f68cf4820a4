"""Who is calling: the client's address and agent, as the gateway passes them on."""

from __future__ import annotations

from fastapi import Request


def client_ip(request: Request) -> str:
    # The gateway overwrites X-Real-IP with the address it trusts; auth is not public.
    return request.headers.get("x-real-ip") or (request.client.host if request.client else "")


def user_agent(request: Request) -> str:
    return request.headers.get("user-agent", "")[:255]
