"""Mailer settings: SMTP (docs/DESIGN.md §6), the health port, the delivery knobs (`MAILER_*`)."""

from __future__ import annotations

from email.headerregistry import Address
from email.utils import parseaddr
from functools import cache
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from kit.settings import KitSettings


class MailerSettings(KitSettings):
    smtp_host: str = Field("127.0.0.1", alias="SMTP_HOST")
    smtp_port: int = Field(1025, alias="SMTP_PORT", ge=1, le=65535)
    smtp_username: str | None = Field(None, alias="SMTP_USERNAME")
    smtp_password: SecretStr | None = Field(None, alias="SMTP_PASSWORD")
    smtp_tls: Literal["none", "starttls", "tls"] = Field("none", alias="SMTP_TLS")
    mail_from: str = Field("Parley <no-reply@parley.local>", alias="MAIL_FROM")

    host: str = Field("127.0.0.1", alias="MAILER_HOST")
    port: int = Field(8004, alias="MAILER_PORT", ge=0, le=65535)

    # Delivery. With the defaults a mail is tried 8 times over about four minutes
    # (2 s, 4 s, 8 s ... 128 s between tries, each with jitter) before it is dead-lettered.
    smtp_timeout: float = Field(30.0, alias="MAILER_SMTP_TIMEOUT", gt=0)
    concurrency: int = Field(8, alias="MAILER_CONCURRENCY", ge=1, le=256)
    max_attempts: int = Field(8, alias="MAILER_MAX_ATTEMPTS", ge=1)
    retry_base_seconds: float = Field(2.0, alias="MAILER_RETRY_BASE_SECONDS", gt=0)
    retry_max_seconds: float = Field(300.0, alias="MAILER_RETRY_MAX_SECONDS", gt=0)
    # How long a mail that is being delivered stays claimed without a heartbeat from its
    # worker; after a crash a redelivered copy waits at most this long.
    claim_lease_seconds: float = Field(60.0, alias="MAILER_CLAIM_LEASE_SECONDS", gt=0)
    dedupe_ttl_seconds: int = Field(7 * 24 * 3600, alias="MAILER_DEDUPE_TTL_SECONDS", ge=60)
    # Redis broker only: an event taken by a mailer that died unannounced is handed out
    # again after this long. Keep it above the longest retry schedule.
    visibility_timeout_seconds: int = Field(900, alias="MAILER_VISIBILITY_TIMEOUT", ge=1)
    # On SIGTERM, how long sends under way may take to finish before the process exits.
    shutdown_grace_seconds: float = Field(30.0, alias="MAILER_SHUTDOWN_GRACE_SECONDS", ge=0)

    @field_validator("mail_from")
    @classmethod
    def _valid_sender(cls, value: str) -> str:
        name, addr = parseaddr(value)
        if not addr or "@" not in addr or any(c in value for c in "\r\n"):
            raise ValueError("MAIL_FROM must be an address, e.g. 'Parley <no-reply@example.com>'")
        Address(display_name=name, addr_spec=addr)  # raises on a malformed address
        return value

    @model_validator(mode="after")
    def _credentials_in_pairs(self) -> MailerSettings:
        if bool(self.smtp_username) != bool(
            self.smtp_password and self.smtp_password.get_secret_value()
        ):
            raise ValueError("set both SMTP_USERNAME and SMTP_PASSWORD, or neither")
        return self

    @property
    def longest_hold_seconds(self) -> float:
        """How long one event can be held at most: every try timing out, every wait at its cap.

        A Redis broker hands an unacknowledged event out again after MAILER_VISIBILITY_TIMEOUT;
        it should be longer than this (the copy would wait for the claim, so nothing is sent
        twice, but a dead-lettered event would then be retried a second time).
        """
        waits = sum(
            min(self.retry_max_seconds, self.retry_base_seconds * 2.0**n)
            for n in range(self.max_attempts - 1)
        )
        return waits + self.max_attempts * self.smtp_timeout

    def secret_fields(self) -> dict[str, str]:
        # The mailer calls no internal endpoint, so PARLEY_INTERNAL_TOKEN is not its concern;
        # the SMTP password is optional (many relays authenticate by network).
        return {}

    @property
    def sender(self) -> Address:
        name, addr = parseaddr(self.mail_from)
        return Address(display_name=name, addr_spec=addr)

    @property
    def uses_redis_broker(self) -> bool:
        return self.broker_url.startswith(("redis://", "rediss://", "redis+socket://"))


@cache
def get_settings() -> MailerSettings:
    """The process's settings, read from the environment once, on first use."""
    return MailerSettings()


def __getattr__(name: str) -> MailerSettings:
    # `from mailer.config import settings` works, but importing this module never reads (or
    # fails on) the environment; tests build `MailerSettings(...)` themselves.
    if name == "settings":
        return get_settings()
    raise AttributeError(name)
