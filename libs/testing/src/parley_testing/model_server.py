"""An OpenAI-compatible chat-completions server: Parley's offline demo model and test model.

`parley up` runs it as the demo model (`parley-demo`) when no provider is configured. Tests run it
too and steer it over `/_control`: reply text, delays between tokens, and faults (429 with
Retry-After, insufficient_quota, 500/503, 400, a stream that stalls or drops without `[DONE]`, or
stays open after it).
Every request it receives is recorded for tests to inspect (`GET /_control/requests`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

DEMO_MODEL = "parley-demo"
FAULTS = {None, "429", "insufficient_quota", "500", "503", "400", "401", "stall", "drop", "linger"}
# what OpenAI says to a bad key: the masked key and the organisation must never reach a user
LEAKY_401 = (
    "Incorrect API key provided: sk-proj-abc1***************************xyz9. You can find"
    " your API key at https://platform.openai.com/account/api-keys. (org-Secret0rgId42)"
)


@dataclass
class Behaviour:
    reply: str | None = None  # None: the demo answer
    first_token_delay: float = 0.0
    token_delay: float = 0.0
    fault: str | None = None
    fault_times: int = 0  # how many requests get the fault; 0 = every request
    fault_after_tokens: int = 0  # for stall/drop: tokens sent before the fault
    # "linger": the whole answer and [DONE], then the stream stays open (it should end)
    retry_after: int | None = None
    usage: bool = True  # False: like servers that never report token counts
    models: list[str] = field(default_factory=lambda: [DEMO_MODEL])


class ModelServer:
    def __init__(self, behaviour: Behaviour | None = None) -> None:
        self.behaviour = behaviour or Behaviour()
        self.requests: list[dict[str, Any]] = []
        # the client's port of each completion request: one port per connection, reused or not
        self.client_ports: list[int] = []
        # one entry per streamed answer: when it ended and whether it ran to [DONE]
        self.stream_ends: list[dict[str, Any]] = []
        self.faults_served = 0
        self.app = Starlette(
            routes=[
                Route("/v1/models", self.list_models, methods=["GET"]),
                Route("/v1/chat/completions", self.completions, methods=["POST"]),
                Route("/_control", self.control, methods=["GET", "POST"]),
                Route("/_control/requests", self.recorded, methods=["GET", "DELETE"]),
                Route("/_control/stream-ends", self.ends, methods=["GET"]),
            ]
        )

    async def list_models(self, _: Request) -> Response:
        data = [{"id": m, "object": "model", "owned_by": "parley"} for m in self.behaviour.models]
        return JSONResponse({"object": "list", "data": data})

    async def control(self, request: Request) -> Response:
        if request.method == "POST":
            changes = await request.json()
            fault = changes.get("fault")
            if fault not in FAULTS:
                return JSONResponse({"error": f"unknown fault {fault!r}"}, status_code=400)
            self.behaviour = Behaviour(**{**asdict(Behaviour()), **changes})
            self.faults_served = 0
        return JSONResponse(asdict(self.behaviour))

    async def recorded(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.requests.clear()
            self.client_ports.clear()
            self.stream_ends.clear()
        return JSONResponse(self.requests)

    async def ends(self, _: Request) -> Response:
        return JSONResponse(self.stream_ends)

    def _fault_now(self) -> str | None:
        b = self.behaviour
        if b.fault is None or (b.fault_times and self.faults_served >= b.fault_times):
            return None
        self.faults_served += 1
        return b.fault

    async def completions(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(body)
        self.client_ports.append(request.client.port if request.client else 0)
        fault = self._fault_now()
        if fault in ("429", "insufficient_quota", "500", "503", "400", "401"):
            return _error_response(fault, self.behaviour.retry_after)
        text = self.behaviour.reply if self.behaviour.reply is not None else demo_answer(body)
        model = body.get("model", DEMO_MODEL)
        if not body.get("stream"):
            await asyncio.sleep(self.behaviour.first_token_delay)
            return JSONResponse(_completion(model, text, body))
        return StreamingResponse(
            self._stream(model, text, body, fault), media_type="text/event-stream"
        )

    async def _stream(
        self, model: str, text: str, body: dict[str, Any], fault: str | None
    ) -> AsyncIterator[bytes]:
        completed = False
        try:
            async for piece in self._pieces(model, text, body, fault):
                yield piece
            completed = True
        finally:
            self.stream_ends.append({"at": time.time(), "completed": completed})

    async def _pieces(
        self, model: str, text: str, body: dict[str, Any], fault: str | None
    ) -> AsyncIterator[bytes]:
        b = self.behaviour
        chunk_id = f"chatcmpl-{uuid.uuid4().hex}"
        await asyncio.sleep(b.first_token_delay)
        for index, token in enumerate(tokens(text)):
            if fault in ("stall", "drop") and index >= b.fault_after_tokens:
                if fault == "stall":
                    await asyncio.sleep(3600)
                return  # "drop": the stream ends without [DONE]
            if index and b.token_delay:
                await asyncio.sleep(b.token_delay)
            yield _sse(
                _chunk(
                    chunk_id,
                    model,
                    {"content": token} if index else {"role": "assistant", "content": token},
                )
            )
        yield _sse(_chunk(chunk_id, model, {}, finish="stop"))
        if (body.get("stream_options") or {}).get("include_usage") and self.behaviour.usage:
            usage = _usage(body, text)
            yield _sse(
                {
                    "id": chunk_id,
                    "object": "chat.completion.chunk",
                    "created": int(time.time()),
                    "model": model,
                    "choices": [],
                    "usage": usage,
                }
            )
        yield b"data: [DONE]\n\n"
        if fault == "linger":
            await asyncio.sleep(3600)


def tokens(text: str) -> list[str]:
    """Word-sized pieces that join back to exactly `text`."""
    return re.findall(r"\s*\S+|\s+", text) or [""]


def _sse(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload)}\n\n".encode()


def _chunk(
    chunk_id: str, model: str, delta: dict[str, str], finish: str | None = None
) -> dict[str, Any]:
    return {
        "id": chunk_id,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _usage(body: dict[str, Any], text: str) -> dict[str, int]:
    prompt = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
    completion = len(tokens(text))
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _completion(model: str, text: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
        "usage": _usage(body, text),
    }


def _error_response(fault: str, retry_after: int | None) -> Response:
    status, code, kind = {
        "429": (429, "rate_limit_exceeded", "requests"),
        "insufficient_quota": (429, "insufficient_quota", "insufficient_quota"),
        "500": (500, "server_error", "server_error"),
        "503": (503, "overloaded", "server_error"),
        "400": (400, "invalid_request", "invalid_request_error"),
        "401": (401, "invalid_api_key", "invalid_request_error"),
    }[fault]
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    text = LEAKY_401 if fault == "401" else f"test server fault {fault}"
    error = {"message": text, "type": kind, "code": code, "param": None}
    return JSONResponse({"error": error}, status_code=status, headers=headers)


BUBBLE_SORT = '''def bubble_sort(items):
    """Sort a list in place, swapping neighbours until nothing moves."""
    n = len(items)
    for i in range(n):
        swapped = False
        for j in range(n - i - 1):
            if items[j] > items[j + 1]:
                items[j], items[j + 1] = items[j + 1], items[j]
                swapped = True
        if not swapped:
            break
    return items


print(bubble_sort([64, 34, 25, 12, 22, 11, 90]))'''


def demo_answer(body: dict[str, Any]) -> str:
    """The demo model's Markdown answer: a code sample and a note saying what it is."""
    messages = body.get("messages") or [{}]
    question = str(messages[-1].get("content", "")).strip()
    quoted = " ".join(question.split())[:200] or "your message"
    return (
        f"You asked: *{quoted}*\n\n"
        "Here is a bubble sort in Python, the classic first program:\n\n"
        f"```python\n{BUBBLE_SORT}\n```\n\n"
        "It walks the list repeatedly and swaps neighbours that are out of order; "
        "it stops early once a pass makes no swap.\n\n"
        "> This answer comes from **Parley's built-in demo model**, which works offline. "
        "Set `OPENAI_API_KEY` (or `OPENAI_BASE_URL` for an OpenAI-compatible server) "
        "to talk to a real model."
    )


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description="OpenAI-compatible demo/test model server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8005)
    parser.add_argument(
        "--token-delay",
        type=float,
        default=0.02,
        help="seconds between tokens: the demo streams at a pace people can watch",
    )
    args = parser.parse_args(argv)
    server = ModelServer(Behaviour(token_delay=args.token_delay))
    uvicorn.run(server.app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
