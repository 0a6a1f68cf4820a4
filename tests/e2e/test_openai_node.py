"""The official Node `openai` package streams a response from Parley's /v1 (§12): code written
for OpenAI in JavaScript runs unchanged as well. Its package is installed by `make test`
(tests/e2e/node)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from parley_testing.model_server import ModelServer

from .conftest import Stack
from .test_openai_api import REPLY

pytestmark = pytest.mark.e2e
CLIENT = Path(__file__).parent / "node"


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_a_streamed_response_with_the_node_sdk(
    stack: Stack, program: Any, model: ModelServer
) -> None:
    key = program[1]
    model.behaviour.reply, model.behaviour.token_delay = REPLY, 0.01
    question = f"from node {uuid.uuid4()}"
    ran = subprocess.run(
        ["node", str(CLIENT / "stream.mjs"), question],
        env={**os.environ, "PARLEY_V1_URL": f"{stack.url}/v1", "PARLEY_KEY": key["key"]},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    seen = json.loads(ran.stdout)
    assert seen["types"][0] == "response.created"
    assert seen["types"][-1] == "response.completed"
    assert seen["numbers"] == list(range(len(seen["numbers"])))
    assert seen["text"] == REPLY
    assert seen["final"] == REPLY
    assert [r["messages"][-1]["content"] for r in model.requests] == [question]
