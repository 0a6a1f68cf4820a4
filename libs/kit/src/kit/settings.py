"""Typed settings shared by every Parley process.

Each service subclasses `KitSettings` and adds its own fields. Values come from environment
variables (names as in docs/DESIGN.md §6); every one has a development default, and production
refuses to start with a missing or placeholder secret.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = {"", "change-me", "changeme", "secret", "dev", "development", "parley"}


class InsecureSettings(RuntimeError):
    """Raised at start in production when a secret is missing or left at a placeholder."""


class KitSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    env: Literal["development", "testing", "production"] = Field("development", alias="PARLEY_ENV")
    data_dir: Path = Field(Path(".parley"), alias="PARLEY_DATA_DIR")
    public_url: str = Field("http://localhost:8000", alias="PARLEY_PUBLIC_URL")
    redis_url: str = Field("redis://127.0.0.1:6379/0", alias="REDIS_URL")
    broker_url_setting: str | None = Field(None, alias="BROKER_URL")
    internal_token: str = Field("", alias="PARLEY_INTERNAL_TOKEN")
    log_level: str = Field("INFO", alias="PARLEY_LOG_LEVEL")
    auth_url: str = Field("http://127.0.0.1:8001", alias="PARLEY_AUTH_URL")
    chat_url: str = Field("http://127.0.0.1:8002", alias="PARLEY_CHAT_URL")
    jwt_issuer: str = Field("parley", alias="PARLEY_JWT_ISSUER")
    jwt_audience: str = Field("parley-api", alias="PARLEY_JWT_AUDIENCE")
    # per-user limits on costly writes (kit.ratelimit.write_limits); 0 turns one off
    messages_per_minute: int = Field(60, alias="PARLEY_MESSAGES_PER_MINUTE")
    regenerations_per_minute: int = Field(20, alias="PARLEY_REGENERATIONS_PER_MINUTE")
    dialogs_per_minute: int = Field(20, alias="PARLEY_DIALOGS_PER_MINUTE")
    webhook_tests_per_minute: int = Field(5, alias="PARLEY_WEBHOOK_TESTS_PER_MINUTE")
    avatar_uploads_per_hour: int = Field(20, alias="PARLEY_AVATAR_UPLOADS_PER_HOUR")
    # each one sends a mail to an address of the inviter's choosing
    invitations_per_hour: int = Field(30, alias="PARLEY_INVITATIONS_PER_HOUR")
    # avatars, users' and agents' (kit.avatars)
    avatar_max_bytes: int = Field(5 * 1024 * 1024, alias="PARLEY_AVATAR_MAX_BYTES")
    avatar_max_pixels: int = Field(16_000_000, alias="PARLEY_AVATAR_MAX_PIXELS")
    image_concurrency: int = Field(2, alias="PARLEY_IMAGE_CONCURRENCY")

    @property
    def broker_url(self) -> str:
        """The event and task broker; Redis unless `BROKER_URL` names another (e.g. amqp://)."""
        return self.broker_url_setting or self.redis_url

    @property
    def jwks_url(self) -> str:
        return f"{self.auth_url.rstrip('/')}/.well-known/jwks.json"

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    def secret_fields(self) -> dict[str, str]:
        """Secrets that must be real in production; subclasses add theirs."""
        return {"PARLEY_INTERNAL_TOKEN": self.internal_token}

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> KitSettings:
        if self.env != "production":
            return self
        bad = [
            name
            for name, value in self.secret_fields().items()
            if value.strip().lower() in PLACEHOLDER_SECRETS or len(value) < 32
        ]
        if bad:
            raise InsecureSettings(
                "refusing to start in production: set a random value of at least 32 characters "
                f"for {', '.join(sorted(bad))}"
            )
        return self
