from __future__ import annotations

from pydantic import Field

from kit.providers import Providers, ProviderSettings
from kit.settings import KitSettings


class Settings(KitSettings, ProviderSettings):
    llm_timeout: float = Field(60.0, alias="PARLEY_LLM_TIMEOUT")
    task_visibility_timeout: int = Field(300, alias="PARLEY_TASK_VISIBILITY_TIMEOUT")
    metrics_host: str = Field("127.0.0.1", alias="LLM_WORKER_METRICS_HOST")
    metrics_port: int = Field(8003, alias="LLM_WORKER_METRICS_PORT")
    concurrency: int = Field(200, alias="LLM_WORKER_CONCURRENCY")
    # the queues this worker takes ("llm,llm.local"); empty: every provider's
    queues_setting: str = Field("", alias="LLM_WORKER_QUEUES")

    def queues(self, providers: Providers) -> list[str]:
        chosen = [q.strip() for q in self.queues_setting.split(",") if q.strip()]
        return chosen or providers.queues()


settings = Settings()
