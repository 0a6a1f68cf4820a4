"""The answer job contract between chat (which queues it) and the llm-worker (which runs it).

Chat sends Celery task `TASK` by name (it never imports the worker) to the queue of the job's
provider (`kit.providers`; `QUEUE` without a providers file) with a `Job`'s fields as keyword
arguments. The worker calls chat once per answer:
`POST answer_path(message_id)` with `AnswerIn`, its final word on one generation; a copy sent
again is ignored. Everything before that — begun, tokens, cancelled — lives in Redis
(`kit.answers`), not in calls between the two.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, Field

from kit.schemas import Input

TASK = "llm.generate_answer"
QUEUE = "llm"


def answer_path(message_id: uuid.UUID | str) -> str:
    return f"/internal/messages/{message_id}/answer"


class Job(BaseModel):
    """What the worker needs to generate one answer: the prompt is built by chat."""

    message_id: uuid.UUID
    generation: int  # bumped by a regenerate; callbacks for an older one are ignored
    model: str  # the provider's own name for the model
    messages: list[dict[str, Any]]  # OpenAI chat messages, system prompt first
    provider: str = ""  # the provider's name; "" (jobs from before providers): the first one
    temperature: float | None = None  # the agent's; None: the provider's default
    queue: str = Field(QUEUE, exclude=True)  # where chat sends it (not part of the task)

    def kwargs(self, request_id: str | None) -> dict[str, Any]:
        """The task's keyword arguments (JSON); the request id follows the job into the logs."""
        return {**self.model_dump(mode="json"), "request_id": request_id}


class AnswerError(BaseModel):
    """Why an answer failed, in words a user can read; `retryable` says whether trying again
    may help."""

    code: str
    message: str
    retryable: bool


class AnswerIn(Input):
    """The worker's final word on one generation of an answer."""

    generation: int
    status: Literal["completed", "failed"]
    answer_text: str = ""
    error: AnswerError | None = None
    usage: dict[str, int] | None = None
