"""SMTP_TLS (starttls, tls) and SMTP login against a real aiosmtpd with a test certificate."""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kit import events
from kit.events import Event
from mailer import admin
from mailer.main import Mailer

WAIT = 15.0
StartMailer = Callable[..., Awaitable[Mailer]]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1: (cert file, key file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "parley test SMTP")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory = tmp_path_factory.mktemp("tls")
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@pytest.fixture
def trusted(certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    """The server's TLS context; the mailer trusts the test certificate (via SSL_CERT_FILE)."""
    cert_file, key_file = certificate
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


class Authenticator:
    def __init__(self) -> None:
        self.logins: list[str] = []

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            b"relay",
            b"s3cret-password",
        )
        if ok:
            self.logins.append(data.login.decode())
        return AuthResult(success=ok)


def mail_for(email: str) -> Event:
    return Event(
        type="auth.password_changed",
        data={"user_id": "u-7", "email": email, "username": "tess"},
    )


async def publish(broker_url: str, event: Event) -> None:
    def go() -> None:
        with events.connect(broker_url) as conn:
            events.declare_topology(conn)
            events.publish(conn, event)

    await asyncio.to_thread(go)


async def eventually(check: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + WAIT
    while not (result := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)
    return result


class TestSmtpSecurity:
    async def test_starttls_with_login(
        self, broker_url: str, smtp, trusted: ssl.SSLContext, start_mailer: StartMailer
    ) -> None:
        authenticator = Authenticator()
        smtp.stop()
        smtp.start(
            tls_context=trusted,
            require_starttls=True,
            authenticator=authenticator,
            auth_required=True,
        )
        await start_mailer(
            SMTP_TLS="starttls", SMTP_USERNAME="relay", SMTP_PASSWORD="s3cret-password"
        )
        await publish(broker_url, mail_for("tess@example.com"))

        [message] = await eventually(lambda: smtp.mails_to("tess@example.com"), "the mail")
        assert message["Subject"] == "Your Parley password was changed"
        assert authenticator.logins == ["relay"]

    async def test_implicit_tls(
        self, broker_url: str, smtp, trusted: ssl.SSLContext, start_mailer: StartMailer
    ) -> None:
        smtp.stop()
        smtp.start(ssl_context=trusted)
        await start_mailer(SMTP_TLS="tls")
        await publish(broker_url, mail_for("uma@example.com"))
        await eventually(lambda: smtp.mails_to("uma@example.com"), "the mail over TLS")

    async def test_starttls_required_but_not_offered_ends_in_dead_letters(
        self, broker_url: str, smtp, start_mailer: StartMailer
    ) -> None:
        await start_mailer(SMTP_TLS="starttls")  # the plain test server offers no STARTTLS
        event = mail_for("vic@example.com")
        await publish(broker_url, event)

        async def dead() -> list[dict[str, Any]]:
            return await asyncio.to_thread(admin.list_dead_letters, broker_url)

        deadline = time.monotonic() + WAIT
        while not (found := await dead()):
            assert time.monotonic() < deadline, "not dead-lettered"
            await asyncio.sleep(0.05)
        assert found[0]["event_id"] == str(event.id)
        assert found[0]["reason"] == "retries_exhausted"
        assert "STARTTLS" in found[0]["detail"]
        assert smtp.accepted == []
