"""Where a webhook may be delivered: public addresses only (no SSRF into our own network).

A URL is checked when it is registered and again at every connection, against every address
its host resolves to, and the request then goes to the checked address (so a DNS answer that
changes in between cannot redirect it). `PARLEY_WEBHOOK_ALLOW_PRIVATE` lifts the rule for tests
and development.

Ports are limited too (80, 443 and 1024–65535, plus `PARLEY_WEBHOOK_EXTRA_PORTS`), so the
delivery log cannot be used to probe which well-known services a host runs (SSH, SMTP, ...).
Anything that does not parse as an http(s) URL is refused with a reason, never an exception.
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


def port_allowed(port: int, extra_ports: frozenset[int] = frozenset()) -> bool:
    return port in (80, 443) or 1024 <= port <= 65535 or port in extra_ports


def split(url: str, extra_ports: frozenset[int] = frozenset()) -> tuple[str, str, int]:
    """Scheme, host and port of a deliverable URL; AddressRefused says what is wrong."""
    try:
        parts = urlsplit(url)
        hostname, port = parts.hostname, parts.port
    except ValueError:  # "[::1", "host:99999", "host:abc", "[zz::1]"
        raise AddressRefused("This is not a valid URL (check the host and port).") from None
    if parts.scheme not in ("http", "https") or not hostname:
        raise AddressRefused("Use an http:// or https:// URL with a host name.")
    if parts.username or parts.password:
        raise AddressRefused("Credentials in the URL are not allowed.")
    if any(c in url for c in "\r\n\t\x00 "):
        raise AddressRefused("The URL may not contain spaces or control characters.")
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    if not port_allowed(port, extra_ports):
        raise AddressRefused(f"Port {port} is not allowed: use 80, 443 or 1024-65535.")
    return parts.scheme, hostname, port


def _check(host: str, infos: list[tuple[object, ...]], allow_private: bool) -> list[str]:
    addresses = sorted({str(info[4][0]) for info in infos})  # type: ignore[index]
    if not addresses:
        raise AddressRefused(f"{host} does not resolve.")
    if not allow_private and not all(is_public(a) for a in addresses):
        raise AddressRefused(f"{host} resolves to a private, loopback or link-local address.")
    return addresses


def resolve(
    url: str, *, allow_private: bool, extra_ports: frozenset[int] = frozenset()
) -> list[str]:
    _, host, port = split(url, extra_ports)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise AddressRefused(f"{host} does not resolve.") from exc
    return _check(host, infos, allow_private)  # type: ignore[arg-type]


async def resolve_async(
    url: str, *, allow_private: bool, extra_ports: frozenset[int] = frozenset()
) -> list[str]:
    _, host, port = split(url, extra_ports)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise AddressRefused(f"{host} does not resolve.") from exc
    return _check(host, infos, allow_private)  # type: ignore[arg-type]
