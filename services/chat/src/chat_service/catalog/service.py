"""The models a user may pick, from every provider (`kit.providers`).

A provider's models are those its entry lists, or else those its `/v1/models` reads (cached for a
minute; the last good list is kept while the provider is unreachable, and a provider that never
answered offers nothing, without affecting the others). Without a providers file, `PARLEY_MODELS`
lists the one provider's models, and an unreachable provider falls back to them.

Each model has a public id (the provider's own name for it, qualified as `provider/model` when
there are several providers), the provider and queue that answer it, and its context size.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, replace

import httpx

from chat_service.config import DEMO_MODEL, Settings
from kit.errors import FieldErrors
from kit.providers import OPENAI_URL, Provider, Providers

log = logging.getLogger(__name__)
CACHE_SECONDS = 60.0


@dataclass(frozen=True)
class Model:
    id: str  # what users and the API call it
    name: str
    provider: str
    provider_model: str  # what the provider calls it
    queue: str
    context_tokens: int
    default: bool = False


class ModelCatalog:
    def __init__(self, settings: Settings, providers: Providers, http: httpx.AsyncClient) -> None:
        self.settings = settings
        self.providers = providers
        self.http = http
        self._fetched: dict[str, tuple[float, list[str]]] = {}

    async def models(self) -> list[Model]:
        listed = await asyncio.gather(*(self._model_ids(p) for p in self.providers.all))
        models = [
            self._model(provider, model_id)
            for provider, ids in zip(self.providers.all, listed, strict=True)
            for model_id in ids
        ]
        default = self._default_id(models)
        return [replace(m, default=True) if m.id == default else m for m in models]

    async def default(self) -> Model | None:
        return next((m for m in await self.models() if m.default), None)

    async def check(self, model_id: str | None, field: str = "model") -> Model | None:
        """The model `model_id` names if it is offered (None stays None); else a 422 naming
        the choices."""
        if model_id is None:
            return None
        models = await self.models()
        found = next((m for m in models if m.id == model_id), None)
        if found is None:
            choices = ", ".join(m.id for m in models) or "none is reachable now"
            raise FieldErrors({field: [f"Unknown model; choose one of {choices}."]})
        return found

    async def route(self, model_id: str) -> Model:
        """Where to send an answer for a stored message's model, even one no longer offered
        (its provider then says what is wrong): by its provider prefix, else the first."""
        for m in await self.models():
            if m.id == model_id:
                return m
        name, _, own = model_id.partition("/")
        provider = self.providers.get(name) if self.providers.qualified and own else None
        if provider is None:
            provider, own = self.providers.first, model_id
        return self._model(provider, own)

    def _model(self, provider: Provider, model_id: str) -> Model:
        spec = next((m for m in provider.models if m.id == model_id), None)
        public = self.providers.public_id(provider, model_id)
        context = spec.context_tokens if spec and spec.context_tokens else None
        return Model(
            id=public,
            name=(spec.name if spec and spec.name else None)
            or ("Demo (built-in, offline)" if model_id == DEMO_MODEL else public),
            provider=provider.name,
            provider_model=model_id,
            queue=provider.queue,
            context_tokens=context or self.settings.context_tokens(public),
        )

    def _default_id(self, models: list[Model]) -> str | None:
        marked = [
            self.providers.public_id(p, m.id)
            for p in self.providers.all
            for m in p.models
            if m.default
        ]
        preferred = marked[0] if marked else self.settings.default_model_setting
        ids = [m.id for m in models]
        if preferred and preferred in ids:
            return preferred
        return ids[0] if ids else None

    async def _model_ids(self, provider: Provider) -> list[str]:
        if provider.models:
            return [m.id for m in provider.models]
        fetched_at, ids = self._fetched.get(provider.name, (float("-inf"), []))
        if time.monotonic() - fetched_at > CACHE_SECONDS:
            try:
                ids = await self._from_provider(provider)
                self._fetched[provider.name] = (time.monotonic(), ids)
            except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                log.warning("listing the models of provider %s failed: %s", provider.name, exc)
        if not ids and not self.settings.providers_file:  # no file: what the settings name
            return self.settings.models
        return ids

    async def _from_provider(self, provider: Provider) -> list[str]:
        key = provider.api_key()
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        response = await self.http.get(f"{provider.base_url}/models", headers=headers, timeout=5)
        response.raise_for_status()
        ids = sorted(str(m["id"]) for m in response.json()["data"])
        if provider.base_url == OPENAI_URL:  # OpenAI lists embeddings, audio and image models too
            ids = [i for i in ids if i.startswith(("gpt-", "o1", "o3", "o4", "chatgpt"))]
        return ids
