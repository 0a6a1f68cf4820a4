"""What a `model` names in the OpenAI-compatible API (docs/DESIGN.md §12): a model of the
catalog as it is, or an agent as `@handle` with its model, instructions and temperature."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from chat_service.agents import service as agents
from chat_service.agents.schemas import ASSISTANT_ID
from chat_service.catalog.service import Model
from chat_service.models import Agent
from chat_service.runtime import Runtime
from kit.errors import NotFound
from kit.jwt import AccessClaims


class ModelNotFound(NotFound):
    code = "model_not_found"


def model_object(model: Model) -> dict[str, Any]:
    return {"id": model.id, "object": "model", "created": 0, "owned_by": model.provider}


def agent_object(agent: Agent) -> dict[str, Any]:
    created = int(agent.created_at.timestamp()) if agent.id != ASSISTANT_ID else 0
    return {"id": f"@{agent.handle}", "object": "model", "created": created, "owned_by": "parley"}


@dataclass
class Answerer:
    """What `model` names: a model as it is, or an agent (`@handle`, docs/DESIGN.md §9) with
    its model, instructions and temperature."""

    model: Model
    agent: Agent | None = None

    def system(self) -> list[dict[str, str]]:
        """The agent's instructions, which come first as for a message (§9)."""
        if self.agent is None or not self.agent.instructions:
            return []
        return [{"role": "system", "content": self.agent.instructions}]

    def temperature(self, asked: float | None) -> float | None:
        """The request's temperature, else the agent's."""
        if asked is not None or self.agent is None:
            return asked
        return self.agent.temperature

    def ref(self, runtime: Runtime) -> dict[str, object] | None:
        """What the message keeps of who answers (None: the assistant)."""
        if self.agent is None or self.agent.id == ASSISTANT_ID:
            return None
        return agents.ref(runtime, self.agent)


async def offered(
    runtime: Runtime, session: AsyncSession, caller: AccessClaims, model_id: str
) -> Answerer:
    missing = ModelNotFound(
        f"The model `{model_id}` does not exist or you do not have access to it."
    )
    if model_id.startswith("@"):
        agent = await agents.by_handle(runtime, session, caller, model_id[1:])
        if agent is None:
            raise missing
        chosen = await runtime.catalog.route(agent.model) if agent.model else None
        model = chosen or await runtime.catalog.default()
        if model is None:
            raise missing
        return Answerer(model, agent)
    for model in await runtime.catalog.models():
        if model.id == model_id:
            return Answerer(model)
    raise missing
