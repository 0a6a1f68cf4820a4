"""The client's IP address, as the services are told it in `X-Real-IP`.

The TCP peer is the client unless it is one of `PARLEY_TRUSTED_PROXIES`. Behind such a proxy the
gateway walks `X-Forwarded-For` from the right (the hop the trusted proxy itself appended) and
stops at the first address that is not a trusted proxy: entries further left were written by
the client and prove nothing. Without trusted proxies the header is ignored entirely.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.requests import Request

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class ClientAddress:
    def __init__(self, trusted: Sequence[Network]) -> None:
        self.trusted = tuple(trusted)

    def _is_trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.trusted)

    def __call__(self, request: Request) -> str:
        peer = request.client.host if request.client else ""
        if not self.trusted or not self._is_trusted(peer):
            return peer
        hops = [
            hop.strip()
            for header in request.headers.getlist("x-forwarded-for")
            for hop in header.split(",")
        ]
        client = peer
        for hop in reversed(hops):
            if not self._is_trusted(client):
                break
            try:
                client = str(ipaddress.ip_address(hop))
            except ValueError:
                break  # garbage from the client's side of the chain: keep the last good hop
        return client
