"""`GET /api/models`: what the model picker offers, by provider."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from chat_service.dependencies import Caller, RuntimeDep

router = APIRouter(tags=["models"])


class ModelInfo(BaseModel):
    id: str
    name: str
    provider: str
    context_tokens: int
    default: bool


class ModelList(BaseModel):
    data: list[ModelInfo]


@router.get("/api/models", response_model=ModelList)
async def list_models(_: Caller, runtime: RuntimeDep) -> ModelList:
    """The models of every provider; a provider that cannot be reached offers none for now."""
    return ModelList(
        data=[
            ModelInfo(
                id=m.id,
                name=m.name,
                provider=m.provider,
                context_tokens=m.context_tokens,
                default=m.default,
            )
            for m in await runtime.catalog.models()
        ]
    )
