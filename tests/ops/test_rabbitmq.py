"""The whole stack with RabbitMQ as `BROKER_URL` (events, answer jobs, webhook jobs).

A virtual host of its own per run (see `rabbit_vhost`): registration mail goes through the
`parley.events` exchange to the mailer, the answer job through queue `llm` to the llm-worker, the
webhook through queue `webhooks` to the chat-worker; /readyz checks the broker on every process.
Skipped when nothing listens on 127.0.0.1:5672.
"""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from parley_testing.model_server import ModelServer

from ..e2e.conftest import Inbox, Receiver, Stack
from ..e2e.test_answers import kill_the_worker_mid_answer, requests_for, sse, text_of
from .conftest import ports
from .test_prometheus import ask, login, register

pytestmark = pytest.mark.e2e


def test_message_mail_and_webhook_paths_over_rabbitmq(
    rabbit_stack: Stack,
    inbox: tuple[Inbox, int],
    model: ModelServer,
    receiver: tuple[Receiver, str],
) -> None:
    assert rabbit_stack.env["BROKER_URL"].startswith("amqp://")
    p = ports(rabbit_stack)
    for name, port in {
        "auth": p.auth,
        "chat": p.chat,
        "llm-worker": p.llm_worker,
        "chat-worker": p.chat_worker,
        "mailer": p.mailer,
    }.items():
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
        assert ready.status_code == 200, (name, ready.text)
        assert ready.json()["checks"].get("broker") == "ok", (name, ready.json())

    hooks, hooks_url = receiver
    hook_path = f"/rabbit-{uuid.uuid4().hex}"
    reply = "Answered over RabbitMQ: " + " ".join(f"r{i}" for i in range(8))
    model.behaviour.reply = reply
    question = f"via amqp {uuid.uuid4()}"
    with rabbit_stack.client() as api:
        email, _ = register(api, inbox[0])  # auth outbox -> parley.events -> mailer -> SMTP
        auth = login(api, email)
        created = api.post("/api/webhooks", json={"url": hooks_url + hook_path}, headers=auth)
        assert created.status_code == 201, created.text
        message = ask(api, auth, question)  # chat -> queue llm -> llm-worker -> chat
        assert (message["status"], message["answer_text"]) == ("completed", reply), message
        assert text_of(list(sse(api, auth, message["id"]))) == ""  # ended: a single `done`
        [hook] = hooks.wait_for(1, hook_path)  # chat-worker, queue webhooks
        assert message["id"] in hook["body"].decode()
    assert requests_for(model, question) == 1

    # queue depth comes from RabbitMQ itself (no oldest-job age without consuming)
    metrics = httpx.get(f"http://127.0.0.1:{p.chat}/metrics", timeout=5).text
    depth = dict(re.findall(r'^parley_llm_queue_depth\{queue="(\w+)"\} (\S+)$', metrics, re.M))
    assert depth == {"llm": "0.0", "webhooks": "0.0"}, depth


def test_worker_killed_mid_answer_over_rabbitmq_gives_one_answer(
    rabbit_stack: Stack, model: ModelServer
) -> None:
    # RabbitMQ hands an unacknowledged job back as soon as the worker's connection drops, with
    # no visibility timeout to wait out
    kill_the_worker_mid_answer(rabbit_stack, model)
