from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field

from kit.settings import KitSettings


class Settings(KitSettings):
    database_url_setting: str | None = Field(None, alias="AUTH_DATABASE_URL")
    signing_keys_dir_setting: Path | None = Field(None, alias="AUTH_SIGNING_KEYS_DIR")
    access_token_minutes: int = Field(15, alias="PARLEY_ACCESS_TOKEN_MINUTES")
    refresh_idle_days: int = Field(7, alias="PARLEY_REFRESH_IDLE_DAYS")
    refresh_absolute_days: int = Field(30, alias="PARLEY_REFRESH_ABSOLUTE_DAYS")
    # argon2id cost: about 64 MiB and 3 passes; tests lower it through the environment.
    argon2_memory_kib: int = Field(65536, alias="PARLEY_ARGON2_MEMORY_KIB")
    argon2_time_cost: int = Field(3, alias="PARLEY_ARGON2_TIME_COST")
    argon2_parallelism: int = Field(1, alias="PARLEY_ARGON2_PARALLELISM")
    hashing_concurrency: int = Field(2, alias="PARLEY_HASHING_CONCURRENCY")
    confirm_token_hours: int = 24
    reset_token_minutes: int = 30

    @property
    def database_url(self) -> str:
        return self.database_url_setting or f"sqlite+aiosqlite:///{self.data_dir / 'auth.db'}"

    @property
    def signing_keys_dir(self) -> Path:
        return self.signing_keys_dir_setting or self.data_dir / "keys"

    @property
    def access_lifetime(self) -> timedelta:
        return timedelta(minutes=self.access_token_minutes)


settings = Settings()
