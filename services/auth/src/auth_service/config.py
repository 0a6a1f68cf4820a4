"""Auth's settings (docs/DESIGN.md §6), read once from the environment.

Every rate limit is a setting so an operator can tune it, and tests can make windows small
without changing the rules they assert. Defaults follow the issue: at most 100 failed password
checks per account and hour with an exponential delay after the 5th, at most 3 confirmation and
3 reset mails per account and hour, and per-IP caps on logins, registrations and reset requests.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field

from kit.settings import KitSettings


class Settings(KitSettings):
    database_url_setting: str | None = Field(None, alias="AUTH_DATABASE_URL")
    signing_keys_dir_setting: Path | None = Field(None, alias="AUTH_SIGNING_KEYS_DIR")
    avatars_dir_setting: Path | None = Field(None, alias="AUTH_AVATARS_DIR")
    access_token_minutes: int = Field(15, alias="PARLEY_ACCESS_TOKEN_MINUTES")
    refresh_idle_days: int = Field(7, alias="PARLEY_REFRESH_IDLE_DAYS")
    refresh_absolute_days: int = Field(30, alias="PARLEY_REFRESH_ABSOLUTE_DAYS")
    # A rotated key is published in the JWKS at once and signs only after this delay, so every
    # verifier (gateway, chat, other auth processes) can know it before the first token using it.
    key_activation_seconds: float = Field(60.0, alias="PARLEY_KEY_ACTIVATION_SECONDS")
    # argon2id cost: about 64 MiB and 3 passes; tests lower it through the environment.
    argon2_memory_kib: int = Field(65536, alias="PARLEY_ARGON2_MEMORY_KIB")
    argon2_time_cost: int = Field(3, alias="PARLEY_ARGON2_TIME_COST")
    argon2_parallelism: int = Field(1, alias="PARLEY_ARGON2_PARALLELISM")
    hashing_concurrency: int = Field(2, alias="PARLEY_HASHING_CONCURRENCY")
    confirm_token_hours: int = 24
    reset_token_minutes: int = 30

    # --- rate limits (Redis) -------------------------------------------------------------------
    login_failure_limit: int = Field(100, alias="PARLEY_LOGIN_FAILURE_LIMIT")
    login_failure_window_seconds: int = Field(3600, alias="PARLEY_LOGIN_FAILURE_WINDOW_SECONDS")
    login_free_failures: int = Field(5, alias="PARLEY_LOGIN_FREE_FAILURES")
    login_delay_seconds: float = Field(1.0, alias="PARLEY_LOGIN_DELAY_SECONDS")
    login_max_delay_seconds: float = Field(900.0, alias="PARLEY_LOGIN_MAX_DELAY_SECONDS")
    login_ip_limit: int = Field(50, alias="PARLEY_LOGIN_IP_LIMIT")
    login_ip_window_seconds: int = Field(600, alias="PARLEY_LOGIN_IP_WINDOW_SECONDS")
    register_ip_limit: int = Field(30, alias="PARLEY_REGISTER_IP_LIMIT")
    register_ip_window_seconds: int = Field(3600, alias="PARLEY_REGISTER_IP_WINDOW_SECONDS")
    forgot_ip_limit: int = Field(20, alias="PARLEY_FORGOT_IP_LIMIT")
    forgot_ip_window_seconds: int = Field(3600, alias="PARLEY_FORGOT_IP_WINDOW_SECONDS")
    mail_limit: int = Field(3, alias="PARLEY_MAIL_LIMIT")
    mail_window_seconds: int = Field(3600, alias="PARLEY_MAIL_WINDOW_SECONDS")

    @property
    def database_url(self) -> str:
        return self.database_url_setting or f"sqlite+aiosqlite:///{self.data_dir / 'auth.db'}"

    @property
    def signing_keys_dir(self) -> Path:
        return self.signing_keys_dir_setting or self.data_dir / "keys"

    @property
    def avatars_dir(self) -> Path:
        return self.avatars_dir_setting or self.data_dir / "avatars"

    @property
    def access_lifetime(self) -> timedelta:
        return timedelta(minutes=self.access_token_minutes)


settings = Settings()
