"""A response's streaming events as OpenAI's SDKs read them (docs/DESIGN.md §12), made from its
answer stream in Redis (`answer_wait.follow`).

The events are a function of the stream's entries alone, so the same stream always gives the
same events with the same sequence numbers: a client that lost its connection asks for the
events after the last number it saw (`starting_after`) and gets the rest, with no gap and no
duplicate. The end reads the stored message, which the answer's final entry follows.

A worker that restarts an answer (`reset`) after a fault usually says the same again; text
already sent is not sent twice, and the final `response.output_text.done` and the response
object always carry the stored text.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from typing import Any

from chat_service.models import Message, MessageStatus
from chat_service.openai_api import ids
from chat_service.openai_api.answer_wait import Step
from chat_service.openai_api.responses import current, output_item, response_object, status_of
from chat_service.runtime import Runtime

KEEP_ALIVE = b": keep-alive\n\n"


def _part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


async def events(
    runtime: Runtime, message: Message, steps: AsyncIterator[Step]
) -> AsyncIterator[dict[str, Any] | None]:
    """The response's events from its start; None while nothing happens (keep the line alive)."""
    numbers = itertools.count()

    def event(kind: str, **fields: Any) -> dict[str, Any]:
        return {"type": kind, "sequence_number": next(numbers), **fields}

    where = {"item_id": ids.shown(ids.OUTPUT_ITEM, message.id), "output_index": 0}
    yield event("response.created", response=response_object(message, "queued"))
    begun = False
    sent = ""  # what the client has
    text = ""  # the current attempt's text
    async for step in steps:
        if step.kind == "waiting":
            yield None
            continue
        if not begun and step.kind != "error":
            begun = True
            yield event("response.in_progress", response=response_object(message, "in_progress"))
            yield event(
                "response.output_item.added",
                output_index=0,
                item={**output_item(message, "", "in_progress"), "content": []},
            )
            yield event("response.content_part.added", **where, content_index=0, part=_part(""))
        if step.kind == "reset":
            text = ""
        elif step.kind == "delta":
            text += step.data.get("text", "")
            if len(text) > len(sent):
                piece = text[len(sent) :]
                sent += piece
                yield event(
                    "response.output_text.delta", **where, content_index=0, delta=piece, logprobs=[]
                )
        elif step.kind in ("done", "error"):
            final = await current(runtime, message.id)
            if final is None:
                yield event(
                    "error", code="not_found", message="The response was deleted.", param=None
                )
                return
            if MessageStatus(final.status).terminal:
                status = status_of(final.status)
            else:  # not stored yet: cannot happen, as the final entry follows the commit
                status = "completed" if step.kind == "done" else "failed"
            stored = final.answer_text
            if begun:
                if stored.startswith(sent) and len(stored) > len(sent):
                    yield event(
                        "response.output_text.delta",
                        **where,
                        content_index=0,
                        delta=stored[len(sent) :],
                        logprobs=[],
                    )
                item_status = "completed" if status == "completed" else "incomplete"
                yield event(
                    "response.output_text.done", **where, content_index=0, text=stored, logprobs=[]
                )
                yield event(
                    "response.content_part.done", **where, content_index=0, part=_part(stored)
                )
                yield event(
                    "response.output_item.done",
                    output_index=0,
                    item=output_item(final, stored, item_status),
                )
            yield event(f"response.{status}", response=response_object(final, status))
            return


async def sse(
    runtime: Runtime, message: Message, steps: AsyncIterator[Step], starting_after: int | None
) -> AsyncIterator[bytes]:
    """The events after `starting_after` as server-sent events."""
    async for event in events(runtime, message, steps):
        if event is None:
            yield KEEP_ALIVE
        elif starting_after is None or event["sequence_number"] > starting_after:
            yield f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()
