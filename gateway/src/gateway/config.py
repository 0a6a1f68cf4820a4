from __future__ import annotations

import ipaddress
from pathlib import Path

from pydantic import Field, field_validator

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
    # Reverse proxies in front of the gateway (IPs or CIDRs, comma-separated). Only when the
    # connection comes from one of them is X-Forwarded-For believed; otherwise anyone could
    # claim any address and escape the per-IP rate limits.
    trusted_proxies_setting: str = Field("", alias="PARLEY_TRUSTED_PROXIES")
    # How soon an unknown `kid` may make the gateway fetch auth's JWKS again.
    jwks_refetch_seconds: float = Field(30.0, alias="PARLEY_JWKS_REFETCH_SECONDS")
    # Requests per minute one API key may make (a burst of as many, refilling evenly); 0: off.
    api_key_requests_per_minute: int = Field(600, alias="PARLEY_API_KEY_REQUESTS_PER_MINUTE")
    max_json_bytes: int = 1_000_000
    # a 5 MiB avatar and its multipart envelope; auth checks its own limit from Content-Length
    max_upload_bytes: int = 5 * 1024 * 1024 + 64 * 1024

    @field_validator("trusted_proxies_setting")
    @classmethod
    def _valid_networks(cls, value: str) -> str:
        for item in value.split(","):
            if item.strip():
                try:
                    ipaddress.ip_network(item.strip(), strict=False)
                except ValueError:
                    raise ValueError(
                        f"PARLEY_TRUSTED_PROXIES: {item.strip()!r} is no IP or CIDR"
                    ) from None
        return value

    @field_validator("cors_origins_setting")
    @classmethod
    def _no_wildcard(cls, value: str) -> str:
        # with credentials allowed, "*" would hand every site the user's session
        if any(origin.strip() == "*" for origin in value.split(",")):
            raise ValueError("PARLEY_CORS_ORIGINS must list exact origins, never '*'")
        return value

    @property
    def trusted_proxies(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [
            ipaddress.ip_network(item.strip(), strict=False)
            for item in self.trusted_proxies_setting.split(",")
            if item.strip()
        ]

    @property
    def cors_origins(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.cors_origins_setting.split(",") if o.strip()]

    @property
    def cookie_name(self) -> str:
        return "__Secure-parley_refresh" if self.cookie_secure else "parley_refresh"


settings = Settings()
