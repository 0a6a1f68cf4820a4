"""Webhook endpoints: every URL a client can send gets a clear answer, never a 500."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from chat_service.webhooks import addresses


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:99999/",
        "http://[::1/",
        "https://1.1.1.1:-1/",
        "http://127.0.0.1:abc/",
        "http://[zz::1]/",
        "http://exa mple.com/",
        "http://example.com/\x00",
        "ftp://example.com/",
        "http://user:pw@example.com/",
        "http://" + "a" * 300 + ".com/",
    ],
)
async def test_malformed_urls_are_a_field_error(
    chat_client: httpx.AsyncClient, user: Callable[..., dict[str, str]], url: str
) -> None:
    response = await chat_client.post("/api/webhooks", json={"url": url}, headers=user())
    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert problem["errors"]["url"], problem


@pytest.mark.parametrize("port", [0, 22, 25, 111, 1023])
async def test_public_hosts_only_on_web_and_high_ports(
    chat_client: httpx.AsyncClient, user: Callable[..., dict[str, str]], port: int
) -> None:
    response = await chat_client.post(
        "/api/webhooks", json={"url": f"https://1.1.1.1:{port}/hook"}, headers=user()
    )
    assert response.status_code == 422, response.text
    assert "port" in response.json()["errors"]["url"][0].lower()


@pytest.mark.parametrize("port", [80, 443, 1024, 8443, 65535])
def test_allowed_ports(port: int) -> None:
    assert addresses.split(f"https://1.1.1.1:{port}/")[2] == port


def test_a_setting_widens_the_ports() -> None:
    with pytest.raises(addresses.AddressRefused):
        addresses.split("http://1.1.1.1:25/")
    assert addresses.split("http://1.1.1.1:25/", frozenset({25}))[2] == 25


def test_delivery_checks_the_port_again() -> None:
    """An endpoint stored before the rule (or a changed setting) is refused at delivery."""
    from chat_service.webhooks import sender

    result = sender.post(
        "http://127.0.0.1:22/", ["whsec_" + "A" * 32], "msg_x", b"{}", timeout=1, allow_private=True
    )
    assert result.status_code is None
    assert "Port 22" in str(result.error)
