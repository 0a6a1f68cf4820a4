from __future__ import annotations

from pydantic import Field

from kit.settings import KitSettings


class Settings(KitSettings):
    openai_api_key: str = Field("", alias="OPENAI_API_KEY")
    openai_base_url: str = Field("", alias="OPENAI_BASE_URL")
    llm_timeout: float = Field(60.0, alias="PARLEY_LLM_TIMEOUT")
    task_visibility_timeout: int = Field(300, alias="PARLEY_TASK_VISIBILITY_TIMEOUT")
    metrics_host: str = Field("127.0.0.1", alias="LLM_WORKER_METRICS_HOST")
    metrics_port: int = Field(8003, alias="LLM_WORKER_METRICS_PORT")
    concurrency: int = Field(200, alias="LLM_WORKER_CONCURRENCY")

    @property
    def base_url(self) -> str | None:
        return self.openai_base_url or None


settings = Settings()
