"""Where a webhook may be delivered: public addresses only (no SSRF into our own network).

A URL is checked when it is registered and again at every connection, against every address
its host resolves to, and the request then goes to the checked address (so a DNS answer that
changes in between cannot redirect it). `PARLEY_WEBHOOK_ALLOW_PRIVATE` lifts the rule for tests
and development.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit


class AddressRefused(ValueError):
    pass


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def split(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AddressRefused("Use an http:// or https:// URL with a host name.")
    if parts.username or parts.password:
        raise AddressRefused("Credentials in the URL are not allowed.")
    return parts.scheme, parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


def _check(host: str, infos: list[tuple[object, ...]], allow_private: bool) -> list[str]:
    addresses = sorted({str(info[4][0]) for info in infos})  # type: ignore[index]
    if not addresses:
        raise AddressRefused(f"{host} does not resolve.")
    if not allow_private and not all(is_public(a) for a in addresses):
        raise AddressRefused(f"{host} resolves to a private, loopback or link-local address.")
    return addresses


def resolve(url: str, *, allow_private: bool) -> list[str]:
    _, host, port = split(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise AddressRefused(f"{host} does not resolve.") from exc
    return _check(host, infos, allow_private)  # type: ignore[arg-type]


async def resolve_async(url: str, *, allow_private: bool) -> list[str]:
    _, host, port = split(url)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise AddressRefused(f"{host} does not resolve.") from exc
    return _check(host, infos, allow_private)  # type: ignore[arg-type]
