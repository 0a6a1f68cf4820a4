from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from kit.providers import ProviderSettings
from kit.settings import KitSettings

DEMO_MODEL = "parley-demo"


class Settings(KitSettings, ProviderSettings):
    database_url_setting: str | None = Field(None, alias="CHAT_DATABASE_URL")
    openai_api_key: str = Field("", alias="OPENAI_API_KEY")
    # agents' avatars: shared by every chat replica (a volume), like auth's
    agent_avatars_dir_setting: Path | None = Field(None, alias="CHAT_AVATARS_DIR")
    default_model_setting: str = Field("", alias="PARLEY_DEFAULT_MODEL")
    system_prompt: str = Field("You are a helpful assistant.", alias="PARLEY_SYSTEM_PROMPT")
    context_messages: int = Field(5, alias="PARLEY_CONTEXT_MESSAGES")
    unconfirmed_message_quota: int = Field(3, alias="PARLEY_UNCONFIRMED_MESSAGE_QUOTA")
    # tokens a user may spend per month unless staff set their own budget; None: unlimited
    default_monthly_tokens: int | None = Field(None, ge=0, alias="PARLEY_DEFAULT_MONTHLY_TOKENS")

    @field_validator("default_monthly_tokens", mode="before")
    @classmethod
    def _empty_is_unlimited(cls, value: object) -> object:
        # compose and ConfigMaps pass an unset variable as ""
        return None if isinstance(value, str) and not value.strip() else value

    task_visibility_timeout: int = Field(300, alias="PARLEY_TASK_VISIBILITY_TIMEOUT")
    sse_ping_seconds: float = Field(15.0, alias="PARLEY_SSE_PING_SECONDS")
    sse_max_per_user: int = Field(5, alias="PARLEY_SSE_MAX_PER_USER")
    # "model=tokens,..." context windows; unknown models get `default_context_tokens`
    model_context_setting: str = Field("", alias="PARLEY_MODEL_CONTEXT")
    default_context_tokens: int = Field(8192, alias="PARLEY_DEFAULT_CONTEXT_TOKENS")
    answer_reserve_tokens: int = Field(1024, alias="PARLEY_ANSWER_RESERVE_TOKENS")
    webhook_allow_private: bool = Field(False, alias="PARLEY_WEBHOOK_ALLOW_PRIVATE")
    webhook_retry_scale: float = Field(1.0, alias="PARLEY_WEBHOOK_RETRY_SCALE")
    webhook_timeout: float = Field(10.0, alias="PARLEY_WEBHOOK_TIMEOUT")
    webhook_max_per_user: int = Field(10, alias="PARLEY_WEBHOOK_MAX_PER_USER")
    # an endpoint is disabled after this many deliveries in a row used up every attempt, or
    # after failing for this many days (whichever comes first); its owner is mailed
    webhook_disable_after: int = Field(5, alias="PARLEY_WEBHOOK_DISABLE_AFTER", ge=1)
    webhook_disable_after_days: float = Field(5.0, alias="PARLEY_WEBHOOK_DISABLE_AFTER_DAYS", gt=0)
    # how long the old secret keeps signing after a rotation
    webhook_secret_overlap_hours: float = Field(
        24.0, alias="PARLEY_WEBHOOK_SECRET_OVERLAP_HOURS", ge=0
    )
    # ports below 1024 other than 80 and 443 that webhooks may still use ("8,25", rarely needed)
    webhook_extra_ports_setting: str = Field("", alias="PARLEY_WEBHOOK_EXTRA_PORTS")
    worker_metrics_host: str = Field("127.0.0.1", alias="CHAT_WORKER_METRICS_HOST")
    worker_metrics_port: int = Field(8008, alias="CHAT_WORKER_METRICS_PORT")
    reaper_interval_seconds: float = Field(30.0, alias="PARLEY_REAPER_INTERVAL")
    # an answer whose worker has been silent this long is failed (must exceed the redelivery
    # delay, so a redelivered job gets its chance first)
    reaper_grace_seconds_setting: int | None = Field(None, alias="PARLEY_REAPER_GRACE")

    @property
    def agent_avatars_dir(self) -> Path:
        return self.agent_avatars_dir_setting or self.data_dir / "agent-avatars"

    @property
    def database_url(self) -> str:
        return self.database_url_setting or f"sqlite+aiosqlite:///{self.data_dir / 'chat.db'}"

    @property
    def sync_database_url(self) -> str:
        """The same database for synchronous code (the chat-worker's Celery tasks)."""
        return self.database_url.replace("+aiosqlite", "").replace("+asyncpg", "+psycopg2")

    @property
    def models(self) -> list[str]:
        """The models offered without a providers file when the provider cannot list its own."""
        if listed := self.listed_models:
            return listed
        return ["gpt-4o-mini"] if self.openai_api_key else [DEMO_MODEL]

    def context_tokens(self, model: str) -> int:
        return parse_context_sizes(self.model_context_setting).get(
            model, self.default_context_tokens
        )

    @property
    def webhook_extra_ports(self) -> frozenset[int]:
        return frozenset(
            int(p) for p in self.webhook_extra_ports_setting.split(",") if p.strip().isdigit()
        )

    @property
    def reaper_grace_seconds(self) -> int:
        return self.reaper_grace_seconds_setting or self.task_visibility_timeout + 60

    @property
    def default_model(self) -> str:
        return self.default_model_setting or self.models[0]


settings = Settings()


def parse_context_sizes(value: str) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for item in value.split(","):
        name, _, tokens = item.strip().partition("=")
        if name and tokens.strip().isdigit():
            sizes[name.strip()] = int(tokens)
    return sizes
