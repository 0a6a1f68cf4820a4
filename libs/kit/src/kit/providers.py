"""The model providers (docs/DESIGN.md §9): OpenAI-compatible servers, each on its own queue.

`PARLEY_PROVIDERS_FILE` names a TOML file of `[[providers]]` (name, base_url, api_key_env,
queue, and optionally `[[providers.models]]`); without it there is one provider, `openai`, from
`OPENAI_BASE_URL`/`OPENAI_API_KEY` and `PARLEY_MODELS`, on queue `llm`, as before providers.
Chat reads it to offer models and route each answer job to its provider's queue; the llm-worker
reads it to call the provider a job names. A key is never in the file, only the name of the
environment variable that holds it.

A file that cannot be used stops start-up with `ProvidersFileError`, whose message names the
file, the line and the problem.
"""

from __future__ import annotations

import os
import re
import sys
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

T = TypeVar("T")
DEFAULT_QUEUE = "llm"
OPENAI_URL = "https://api.openai.com/v1"
NAME = r"^[a-z0-9-]{1,32}$"
QUEUE = r"^[a-z0-9][a-z0-9._-]{0,63}$"


class ProvidersFileError(ValueError):
    """The providers file cannot be used; the message says where and why."""


class ModelSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=100)  # the provider's own model name
    name: str | None = Field(None, max_length=100)
    context_tokens: int | None = Field(None, ge=256)
    default: bool = False


class Provider(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    base_url: str
    api_key_env: str | None = None
    queue: str = DEFAULT_QUEUE
    models: list[ModelSpec] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not re.match(NAME, value):
            raise ValueError("use 1 to 32 lowercase letters, digits and dashes")
        return value

    @field_validator("queue")
    @classmethod
    def _queue(cls, value: str) -> str:
        if not re.match(QUEUE, value):
            raise ValueError("use lowercase letters, digits, dots, dashes and underscores")
        return value

    @field_validator("api_key_env")
    @classmethod
    def _variable(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", value):
            raise ValueError("must name an environment variable (the key itself never goes here)")
        return value

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    def api_key(self, environ: Mapping[str, str] = os.environ) -> str:
        return environ.get(self.api_key_env, "") if self.api_key_env else ""


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    providers: list[Provider] = Field(min_length=1)


@dataclass(frozen=True)
class Providers:
    """The configured providers, in file order; `qualified` when model ids carry the provider's
    name (`local/llama-3.1-8b`), which they do whenever there is more than one."""

    all: tuple[Provider, ...]

    @property
    def qualified(self) -> bool:
        return len(self.all) > 1

    def get(self, name: str) -> Provider | None:
        return next((p for p in self.all if p.name == name), None)

    @property
    def first(self) -> Provider:
        return self.all[0]

    def queues(self) -> list[str]:
        return list(dict.fromkeys(p.queue for p in self.all))

    def public_id(self, provider: Provider, model: str) -> str:
        return f"{provider.name}/{model}" if self.qualified else model


def default_provider(base_url: str, models: list[str]) -> Providers:
    """The provider used without a file: OpenAI (or the URL given), its key from OPENAI_API_KEY."""
    provider = Provider(
        name="openai",
        base_url=base_url or OPENAI_URL,
        api_key_env="OPENAI_API_KEY",
        models=[ModelSpec(id=m) for m in models],
    )
    return Providers((provider,))


def load(path: str | Path) -> Providers:
    """The providers of a TOML file, checked; `ProvidersFileError` names the line and problem."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ProvidersFileError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProvidersFileError(f"{path}: {exc}") from None  # tomllib says "(at line N, ...)"
    try:
        parsed = _File.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        line = _line_of(text, error["loc"])
        where = f"line {line}" if line else "the file"
        field = ".".join(str(part) for part in error["loc"])
        problem = str(error["msg"]).removeprefix("Value error, ")
        raise ProvidersFileError(f"{path}, {where}: {field}: {problem}") from None
    _check_unique(path, text, parsed.providers)
    return Providers(tuple(parsed.providers))


class ProviderSettings(BaseSettings):
    """The settings that name the providers, read alike by chat (which routes each answer job)
    and the llm-worker (which calls the provider a job names)."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    providers_file: str = Field("", alias="PARLEY_PROVIDERS_FILE")
    openai_base_url: str = Field("", alias="OPENAI_BASE_URL")
    models_setting: str = Field("", alias="PARLEY_MODELS")

    @property
    def listed_models(self) -> list[str]:
        """The models `PARLEY_MODELS` names (without a providers file)."""
        return [m.strip() for m in self.models_setting.split(",") if m.strip()]

    def providers(self) -> Providers:
        """The file's providers when `PARLEY_PROVIDERS_FILE` is set, else the single default
        one; ProvidersFileError if the file cannot be used."""
        if self.providers_file:
            return load(self.providers_file)
        return default_provider(self.openai_base_url, self.listed_models)


def exit_on_bad_providers_file(service: str, build: Callable[[], T]) -> T:
    """`build()`, or, when the providers file cannot be used, the reason on stderr and exit
    status 2: a process started with a bad file stops at once and says why, without a
    traceback."""
    try:
        return build()
    except ProvidersFileError as exc:
        print(f"{service}: the providers file cannot be used: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _check_unique(path: Path, text: str, providers: list[Provider]) -> None:
    seen: set[str] = set()
    defaults = 0
    for i, provider in enumerate(providers):
        if provider.name in seen:
            line = _line_of(text, ("providers", i, "name"))
            raise ProvidersFileError(
                f"{path}, line {line}: providers.{i}.name: {provider.name!r} is used twice"
            )
        seen.add(provider.name)
        models: set[str] = set()
        for j, model in enumerate(provider.models):
            if model.id in models:
                line = _line_of(text, ("providers", i, "models", j, "id"))
                raise ProvidersFileError(
                    f"{path}, line {line}: providers.{i}.models.{j}.id: {model.id!r} is listed "
                    "twice"
                )
            models.add(model.id)
            defaults += model.default
            if defaults > 1:
                line = _line_of(text, ("providers", i, "models", j, "default"))
                raise ProvidersFileError(
                    f"{path}, line {line}: providers.{i}.models.{j}.default: only one model "
                    "may be the default"
                )


def _line_of(text: str, loc: tuple[Any, ...]) -> int | None:
    """The line a validation error's location points at: the key's line within the right
    `[[providers]]` (and `[[providers.models]]`) table, or that table's header."""
    lines = text.splitlines()
    if len(loc) < 2 or loc[0] != "providers" or not isinstance(loc[1], int):
        return None
    tables = [n for n, line in enumerate(lines) if re.match(r"^\s*\[\[\s*providers\s*\]\]", line)]
    if loc[1] >= len(tables):
        return None
    start = tables[loc[1]]
    end = tables[loc[1] + 1] if loc[1] + 1 < len(tables) else len(lines)
    key_loc = loc[2:]
    if len(key_loc) >= 2 and key_loc[0] == "models" and isinstance(key_loc[1], int):
        models = [
            n
            for n in range(start, end)
            if re.match(r"^\s*\[\[\s*providers\.models\s*\]\]", lines[n])
        ]
        if key_loc[1] < len(models):
            start = models[key_loc[1]]
            end = models[key_loc[1] + 1] if key_loc[1] + 1 < len(models) else end
            key_loc = key_loc[2:]
    if key_loc and isinstance(key_loc[0], str):
        key = re.compile(rf"^\s*{re.escape(key_loc[0])}\s*=")
        for n in range(start + 1, end):
            if re.match(r"^\s*\[", lines[n]):
                break  # a sub-table begins: the key is not in this table's own lines
            if key.match(lines[n]):
                return n + 1
    return start + 1
