from __future__ import annotations

from pydantic import Field

from kit.settings import KitSettings

DEMO_MODEL = "parley-demo"


class Settings(KitSettings):
    database_url_setting: str | None = Field(None, alias="CHAT_DATABASE_URL")
    openai_api_key: str = Field("", alias="OPENAI_API_KEY")
    openai_base_url: str = Field("", alias="OPENAI_BASE_URL")
    models_setting: str = Field("", alias="PARLEY_MODELS")
    default_model_setting: str = Field("", alias="PARLEY_DEFAULT_MODEL")
    system_prompt: str = Field("You are a helpful assistant.", alias="PARLEY_SYSTEM_PROMPT")
    context_messages: int = Field(5, alias="PARLEY_CONTEXT_MESSAGES")
    unconfirmed_message_quota: int = Field(3, alias="PARLEY_UNCONFIRMED_MESSAGE_QUOTA")
    task_visibility_timeout: int = Field(300, alias="PARLEY_TASK_VISIBILITY_TIMEOUT")
    max_message_chars: int = 32_000

    @property
    def database_url(self) -> str:
        return self.database_url_setting or f"sqlite+aiosqlite:///{self.data_dir / 'chat.db'}"

    @property
    def models(self) -> list[str]:
        configured = [m.strip() for m in self.models_setting.split(",") if m.strip()]
        if configured:
            return configured
        return ["gpt-4o-mini"] if self.openai_api_key else [DEMO_MODEL]

    @property
    def default_model(self) -> str:
        return self.default_model_setting or self.models[0]


settings = Settings()
