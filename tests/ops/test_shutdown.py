"""Graceful shutdown of real processes: SIGTERM drains instead of dropping work.

- llm-worker: stops taking jobs and says so on /readyz (503 "draining"), finishes the answer it is
  generating (once: the model is asked once, the stream has no `reset`), exits 0; a job posted
  meanwhile is answered once too (by the draining worker if the broker had already handed it
  over, otherwise by the replacement).
- gateway (uvicorn, like auth and chat): stops accepting connections, lets the request under way
  (an SSE answer stream) run to its end, then closes its pools (lifespan shutdown) and exits.
`parley up` restarts the process afterwards, as an orchestrator would start a replacement.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import threading
import uuid
from typing import Any

import httpx
import pytest

from kit import answers
from parley_testing.model_server import ModelServer
from parley_testing.waiting import wait_until

from ..e2e.conftest import Stack
from ..e2e.test_answers import post, requests_for, signed_in, sse, text_of, wait_ended
from .conftest import ports

pytestmark = pytest.mark.e2e
REPLY = " ".join(f"drain{i}" for i in range(16))


def exits_logged(stack: Stack, name: str) -> list[str]:
    return re.findall(rf"{re.escape(name)} exited with code (-?\d+)", stack.log())


def readyz(port: int) -> tuple[int, dict[str, Any]] | None:
    try:
        response = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
    except httpx.HTTPError:
        return None
    return response.status_code, response.json()


def queue_metrics(stack: Stack) -> dict[str, float]:
    text = httpx.get(f"http://127.0.0.1:{ports(stack).chat}/metrics", timeout=5).text
    found = re.findall(
        r'^(parley_llm_queue_(?:depth|oldest_age_seconds))\{queue="llm"\} (\S+)$', text, re.M
    )
    return {name: float(value) for name, value in found}


def test_sigterm_drains_the_llm_worker_without_losing_or_doubling_an_answer(
    ops_stack: Stack, model: ModelServer
) -> None:
    model.behaviour.reply = REPLY
    model.behaviour.token_delay = 0.15  # about 2.5 s of generation
    worker_port = ports(ops_stack).llm_worker
    before = len(exits_logged(ops_stack, "llm-worker"))
    api, auth = signed_in(ops_stack)
    first_question = f"drain me {uuid.uuid4()}"
    first = post(api, auth, first_question)
    started = list(sse(api, auth, first["id"], stop_after=2))  # generation is under way
    assert [kind for _, kind, _ in started] == ["delta", "delta"]
    pid = ops_stack.pid("llm-worker")

    os.kill(pid, signal.SIGTERM)
    status = wait_until(
        "/readyz to say draining", lambda: (r := readyz(worker_port)) and r[0] == 503 and r, 5
    )
    assert status[1]["status"] == "draining"
    second_question = f"queued while draining {uuid.uuid4()}"
    second = post(api, auth, second_question)

    stored = wait_ended(api, auth, first["id"], timeout=30)
    assert (stored["status"], stored["answer_text"]) == ("completed", REPLY)
    entries = [
        answers.decode(fields)
        for _, fields in ops_stack.redis().xrange(answers.stream_key(first["id"]))
    ]
    assert "reset" not in [kind for kind, _ in entries]  # never restarted
    assert "".join(data["text"] for kind, data in entries if kind == "delta") == REPLY
    assert requests_for(model, first_question) == 1  # generated once

    # the worker exits on its own, cleanly
    wait_until(
        "the drained worker to exit", lambda: len(exits_logged(ops_stack, "llm-worker")) > before
    )
    assert exits_logged(ops_stack, "llm-worker")[-1] == "0", ops_stack.log()[-3000:]

    model.behaviour.token_delay = 0
    # the job posted during the drain is answered once: by the draining worker if the broker had
    # already handed it over (Redis: a pending fetch), else by the replacement
    answered = wait_ended(api, auth, second["id"], timeout=45)
    assert (answered["status"], answered["answer_text"]) == ("completed", REPLY)
    assert requests_for(model, second_question) == 1
    wait_until("the new worker to be ready", lambda: (r := readyz(worker_port)) and r[0] == 200, 30)
    assert queue_metrics(ops_stack)["parley_llm_queue_depth"] == 0
    api.close()


def test_sigterm_lets_the_gateway_finish_an_open_answer_stream_then_exit(
    ops_stack: Stack, model: ModelServer
) -> None:
    model.behaviour.reply = REPLY
    model.behaviour.token_delay = 0.15
    gateway_port = ports(ops_stack).gateway
    before = len(exits_logged(ops_stack, "gateway"))
    api, auth = signed_in(ops_stack)
    message = post(api, auth, f"stream through a shutdown {uuid.uuid4()}")
    events: list[tuple[str, str, dict[str, Any]]] = []
    started = threading.Event()

    def read() -> None:
        for event in sse(api, auth, message["id"]):
            events.append(event)
            started.set()

    reader = threading.Thread(target=read)
    reader.start()
    assert started.wait(10), "the stream did not start"
    os.kill(ops_stack.pid("gateway"), signal.SIGTERM)

    def refuses_connections() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", gateway_port), timeout=0.5):
                return False
        except OSError:
            return True

    wait_until("the gateway to stop accepting connections", refuses_connections, 5)
    assert reader.is_alive(), "the open stream ended at SIGTERM"
    reader.join(20)
    assert events
    assert events[-1][1] == "done", events[-3:]
    assert text_of(events) == REPLY  # every token, through the shutdown
    wait_until("the gateway to exit", lambda: len(exits_logged(ops_stack, "gateway")) > before)
    # uvicorn re-raises the SIGTERM it handled once shut down, hence -15 rather than 0
    assert exits_logged(ops_stack, "gateway")[-1] in ("0", "-15"), ops_stack.log()[-3000:]
    gateway_lines = [line for line in ops_stack.log().splitlines() if line.startswith("gateway ")]
    assert any("Application shutdown complete" in line for line in gateway_lines)  # pools closed
    wait_until("the gateway to be back", lambda: (r := readyz(gateway_port)) and r[0] == 200, 30)
    model.behaviour.token_delay = 0
    api.close()
