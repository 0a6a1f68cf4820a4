"""The development mail catcher (`python -m parley_testing.mailcatcher`), as `parley up` runs it."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import httpx
import pytest

from kit.events import Event
from mailer.config import MailerSettings
from mailer.render import MailRenderer
from parley_testing.mailcatcher import extract_links
from parley_testing.ports import free_port, wait_for_port, wait_ready


@dataclass
class Catcher:
    smtp_port: int
    url: str
    directory: Path
    process: subprocess.Popen[bytes]


@pytest.fixture
def catcher(tmp_path: Path) -> Iterator[Catcher]:
    smtp_port, http_port = free_port(), free_port()
    directory = tmp_path / "mail"
    process = subprocess.Popen(
        [sys.executable, "-m", "parley_testing.mailcatcher", "--smtp-port", str(smtp_port),
         "--http-port", str(http_port), "--dir", str(directory)],
    )  # fmt: skip
    url = f"http://127.0.0.1:{http_port}"
    try:
        wait_ready(f"{url}/dev/mail/api", timeout=15)
        wait_for_port(smtp_port)
        yield Catcher(smtp_port, url, directory, process)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(15)


def rendered_confirmation() -> EmailMessage:
    renderer = MailRenderer(MailerSettings(PARLEY_PUBLIC_URL="http://localhost:8000"))
    event = Event(
        type="auth.email_confirmation_requested",
        data={
            "user_id": "u-1",
            "email": "olga@example.com",
            "username": "olga",
            "link": "http://localhost:8000/email-verify/tok-olga",
            "expires_at": "2099-01-01T00:00:00+00:00",
        },
    )
    return renderer.message(event, renderer.render(event))


def hostile_mail() -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = "Hello <b>there</b>"
    message["From"] = "someone@example.com"
    message["To"] = "pat@example.com"
    message.set_content("Plain part: https://example.com/plain.")
    message.add_alternative(
        '<p onclick="steal()">Hi</p><script>alert("x")</script>'
        '<a href="https://example.com/html">a link</a>',
        subtype="html",
    )
    return message


class TestMailCatcher:
    async def test_stores_lists_and_shows_caught_mail(self, catcher: Catcher) -> None:
        await aiosmtplib.send(rendered_confirmation(), hostname="127.0.0.1", port=catcher.smtp_port)
        await aiosmtplib.send(hostile_mail(), hostname="127.0.0.1", port=catcher.smtp_port)
        assert len(list(catcher.directory.glob("*.eml"))) == 2

        async with httpx.AsyncClient(base_url=catcher.url) as client:
            mails = (await client.get("/dev/mail/api")).json()
            assert [m["subject"] for m in mails] == [  # newest first
                "Hello <b>there</b>",
                "Confirm your email address for Parley",
            ]
            confirm = mails[1]
            assert set(confirm) == {"id", "subject", "to", "from", "date", "text", "html", "links"}
            assert confirm["to"] == "olga <olga@example.com>"
            assert confirm["from"] == "Parley <no-reply@parley.local>"
            assert "http://localhost:8000/email-verify/tok-olga" in confirm["links"]
            assert "http://localhost:8000/email-verify/tok-olga\n" in confirm["text"]
            assert "\r" not in confirm["text"]
            assert extract_links("", confirm["html"]) == [
                "http://localhost:8000",
                "http://localhost:8000/email-verify/tok-olga",
            ]
            only = (await client.get("/dev/mail/api", params={"to": "OLGA@"})).json()
            assert [m["id"] for m in only] == [confirm["id"]]

            index = await client.get("/dev/mail")
            assert index.status_code == 200
            assert "Confirm your email address for Parley" in index.text
            assert "Hello &lt;b&gt;there&lt;/b&gt;" in index.text
            assert index.text.index("Hello &lt;b&gt;") < index.text.index("Confirm your")

            page = await client.get(f"/dev/mail/{mails[0]['id']}")
            assert page.status_code == 200
            assert "script-src" not in page.headers["content-security-policy"]
            assert "default-src 'none'" in page.headers["content-security-policy"]
            assert '<iframe sandbox="allow-popups allow-popups-to-escape-sandbox"' in page.text
            assert "<script>" not in page.text  # the HTML part only lives escaped in srcdoc
            assert 'srcdoc="&lt;base target=_blank&gt;&lt;p onclick=' in page.text
            assert "Plain part: https://example.com/plain." in page.text
            assert 'href="https://example.com/html"' in page.text  # listed links
            assert 'href="https://example.com/plain"' in page.text

            raw = await client.get(f"/dev/mail/{mails[0]['id']}.eml")
            assert raw.headers["content-type"] == "message/rfc822"
            assert b"Subject: Hello <b>there</b>" in raw.content

            assert (await client.get("/dev/mail/00000000000000000000-deadbeef")).status_code == 404
            assert (await client.get("/dev/mail/..%2F..%2Fetc%2Fpasswd")).status_code == 404
            assert (await client.delete("/dev/mail/api")).status_code == 204
            assert (await client.get("/dev/mail/api")).json() == []

    async def test_sigterm_stops_it_cleanly(self, catcher: Catcher) -> None:
        catcher.process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(catcher.process.wait, 15) == 0
