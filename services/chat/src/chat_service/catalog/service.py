"""The models a user may pick: `PARLEY_MODELS` when set, otherwise the provider's `/v1/models`
(cached for a minute; the last good list is kept while the provider is unreachable)."""

from __future__ import annotations

import logging
import time

import httpx

from chat_service.config import Settings
from kit.errors import FieldErrors

log = logging.getLogger(__name__)
OPENAI_URL = "https://api.openai.com/v1"
CACHE_SECONDS = 60.0


class ModelCatalog:
    def __init__(self, settings: Settings, http: httpx.AsyncClient) -> None:
        self.settings = settings
        self.http = http
        self._ids: list[str] = []
        self._fetched_at = float("-inf")

    async def ids(self) -> list[str]:
        if self.settings.models_setting.strip():
            return self.settings.models
        if time.monotonic() - self._fetched_at > CACHE_SECONDS:
            try:
                self._ids = await self._from_provider()
                self._fetched_at = time.monotonic()
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                log.warning("listing the provider's models failed: %s", exc)
        return self._ids or self.settings.models

    async def _from_provider(self) -> list[str]:
        base = (self.settings.openai_base_url or OPENAI_URL).rstrip("/")
        headers = (
            {"Authorization": f"Bearer {self.settings.openai_api_key}"}
            if self.settings.openai_api_key
            else {}
        )
        response = await self.http.get(f"{base}/models", headers=headers, timeout=5)
        response.raise_for_status()
        ids = sorted(str(m["id"]) for m in response.json()["data"])
        if base == OPENAI_URL:  # OpenAI lists embeddings, audio and image models too
            ids = [i for i in ids if i.startswith(("gpt-", "o1", "o3", "o4", "chatgpt"))]
        return ids

    async def default(self) -> str:
        ids = await self.ids()
        preferred = self.settings.default_model_setting
        return (
            preferred
            if preferred and preferred in ids
            else (ids[0] if ids else self.settings.default_model)
        )

    async def check(self, model: str | None, field: str = "model") -> str | None:
        """`model` if it is offered (None stays None); otherwise a 422 naming the choices."""
        if model is None:
            return None
        ids = await self.ids()
        if model not in ids:
            raise FieldErrors({field: [f"Unknown model; choose one of {', '.join(ids)}."]})
        return model
