"""`GET /api/models`: what the model picker offers."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from chat_service.config import DEMO_MODEL
from chat_service.dependencies import Caller, RuntimeDep

router = APIRouter(tags=["models"])


class ModelInfo(BaseModel):
    id: str
    name: str
    default: bool


class ModelList(BaseModel):
    data: list[ModelInfo]


@router.get("/api/models", response_model=ModelList)
async def list_models(_: Caller, runtime: RuntimeDep) -> ModelList:
    """Models available for dialogs; the built-in demo model is labelled as such."""
    default = await runtime.catalog.default()
    return ModelList(
        data=[
            ModelInfo(
                id=m,
                name="Demo (built-in, offline)" if m == DEMO_MODEL else m,
                default=m == default,
            )
            for m in await runtime.catalog.ids()
        ]
    )
