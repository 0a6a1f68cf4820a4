from __future__ import annotations

from pathlib import Path

from pydantic import Field

from kit.settings import KitSettings

REPO_WEB_DIST = Path(__file__).resolve().parents[3] / "web" / "dist"


class Settings(KitSettings):
    host: str = Field("127.0.0.1", alias="PARLEY_HOST")
    port: int = Field(8000, alias="PARLEY_PORT")
    metrics_port: int = Field(8009, alias="PARLEY_GATEWAY_METRICS_PORT")
    cookie_secure: bool = Field(True, alias="PARLEY_COOKIE_SECURE")
    cors_origins_setting: str = Field("", alias="PARLEY_CORS_ORIGINS")
    web_dir: Path = Field(REPO_WEB_DIST, alias="PARLEY_WEB_DIR")
    dev_mail_url: str = Field("", alias="PARLEY_DEV_MAIL_URL")
    upstream_timeout: float = Field(30.0, alias="PARLEY_UPSTREAM_TIMEOUT")
    max_json_bytes: int = 1_000_000
    max_upload_bytes: int = 6_000_000

    @property
    def cors_origins(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.cors_origins_setting.split(",") if o.strip()]

    @property
    def cookie_name(self) -> str:
        return "__Secure-parley_refresh" if self.cookie_secure else "parley_refresh"


settings = Settings()
