"""Handing a message to the SMTP server, and telling temporary failures from permanent ones.

One SMTP session per mail, at most `MAILER_CONCURRENCY` at a time. A 4xx reply, a refused or
dropped connection (TLS errors included), a timeout and any other SMTP error are temporary
(`TemporaryFailure`: try again later); a 5xx reply is permanent (`PermanentFailure`): the server
will not take this mail as it is.
"""

from __future__ import annotations

import asyncio
from email.message import EmailMessage

import aiosmtplib

from mailer.config import MailerSettings


class DeliveryFailure(Exception):
    """Base of the sender's errors; `reason` is a fixed code fit for a metric label."""

    reason = "unknown"

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class TemporaryFailure(DeliveryFailure):
    def __init__(self, message: str, *, reason: str, code: int | None = None) -> None:
        super().__init__(message, code=code)
        self.reason = reason


class PermanentFailure(DeliveryFailure):
    reason = "smtp_5xx"


def _by_code(code: int, message: str) -> DeliveryFailure:
    text = f"{code} {message}".strip()
    if 400 <= code < 500:
        return TemporaryFailure(text, reason="smtp_4xx", code=code)
    return PermanentFailure(text, code=code)


class SmtpSender:
    def __init__(self, settings: MailerSettings) -> None:
        self.settings = settings
        self._sessions = asyncio.Semaphore(settings.concurrency)

    async def send(
        self, message: EmailMessage | bytes, *, sender: str, recipient: str, smtputf8: bool = False
    ) -> None:
        """Deliver `message` to `recipient`; returns once the server accepted it.

        Pass the message already serialized (`as_bytes()`) when sending it more than once:
        flattening a MIME message costs more CPU than a local SMTP transaction.
        """
        s = self.settings
        async with self._sessions:
            try:
                await aiosmtplib.send(
                    message,
                    sender=sender,
                    recipients=[recipient],
                    mail_options=["SMTPUTF8"] if smtputf8 else None,
                    hostname=s.smtp_host,
                    port=s.smtp_port,
                    username=s.smtp_username or None,
                    password=s.smtp_password.get_secret_value() if s.smtp_password else None,
                    use_tls=s.smtp_tls == "tls",
                    # "none" means none: never upgrade on the server's say-so
                    start_tls=s.smtp_tls == "starttls",
                    timeout=s.smtp_timeout,
                )
            except aiosmtplib.SMTPRecipientsRefused as exc:
                refused = exc.recipients[0]
                raise _by_code(refused.code, refused.message) from exc
            except aiosmtplib.SMTPResponseException as exc:
                raise _by_code(exc.code, exc.message) from exc
            except (aiosmtplib.SMTPTimeoutError, TimeoutError) as exc:
                raise TemporaryFailure(f"timed out: {exc}", reason="timeout") from exc
            except (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPServerDisconnected, OSError) as exc:
                raise TemporaryFailure(f"connection failed: {exc}", reason="connection") from exc
            except aiosmtplib.SMTPNotSupported as exc:
                # e.g. an internationalized address and a server without SMTPUTF8
                raise PermanentFailure(f"not supported by the server: {exc}") from exc
            except aiosmtplib.SMTPException as exc:
                # anything else (e.g. SMTP_TLS=starttls and no STARTTLS offered): retried with
                # backoff like a 4xx, so a setup mistake ends in the dead-letter queue, replayable
                raise TemporaryFailure(f"SMTP error: {exc}", reason="smtp_error") from exc
