"""A real Prometheus scrapes a real stack while it answers messages; every dashboard panel and
alert rule is evaluated by it, and the series come back through Prometheus's HTTP API.

The scrape config is generated: the jobs of infra/prometheus/prometheus.yml (compose service
names) pointed at this stack's 127.0.0.1 ports, scraped every second; the rules are
infra/prometheus/alerts.yml itself. Each panel's expression and the value Prometheus returned are
printed (and written as JSON to $PARLEY_PANEL_VALUES when set) for the operations notes.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from parley_testing.model_server import ModelServer
from parley_testing.ports import free_port

from ..e2e.conftest import Inbox, Receiver, Stack
from ..e2e.test_answers import sse
from .conftest import ROOT, ports, tool

pytestmark = pytest.mark.e2e

DASHBOARD = ROOT / "infra/grafana/dashboards/parley.json"
ALERTS = ROOT / "infra/prometheus/alerts.yml"
DESIGN_METRICS = [  # docs/DESIGN.md §8
    "parley_http_requests_total",
    "parley_http_request_duration_seconds_bucket",
    "parley_llm_time_to_first_token_seconds_bucket",
    "parley_llm_generation_seconds_bucket",
    "parley_llm_tokens_total",
    "parley_llm_inflight",
    "parley_llm_queue_depth",
    "parley_llm_queue_oldest_age_seconds",
    "parley_answers_total",
    "parley_llm_retries_total",
    "parley_emails_total",
    "parley_webhook_deliveries_total",
    "parley_auth_logins_total",
    "parley_refresh_reuse_detected_total",
    "parley_outbox_pending",
    "parley_sse_open_streams",
]
PASSWORD = "correct horse 42"
FORBIDDEN_LABEL_VALUE = re.compile(r"@|[0-9a-f]{8}-[0-9a-f]{4}-|Bearer|eyJ")  # emails, ids, tokens


def scrape_jobs(stack: Stack) -> dict[str, int]:
    """The jobs of the real prometheus.yml, mapped to this stack's ports."""
    p = ports(stack)
    local = {
        "gateway": p.gateway_metrics,
        "auth": p.auth,
        "chat": p.chat,
        "chat-worker": p.chat_worker,
        "llm-worker": p.llm_worker,
        "mailer": p.mailer,
    }
    shipped = yaml.safe_load((ROOT / "infra/prometheus/prometheus.yml").read_text())
    jobs = {c["job_name"] for c in shipped["scrape_configs"]} - {"prometheus"}
    assert jobs == set(local), (
        f"prometheus.yml jobs {sorted(jobs)} != stack processes {sorted(local)}"
    )
    return local


class Prometheus:
    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=10)

    def api(self, path: str, **params: str) -> Any:
        response = self.http.get(f"/api/v1/{path}", params=params)
        body = response.json()
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        data = self.api("query", query=expr)
        assert data["resultType"] == "vector", data
        return data["result"]  # type: ignore[no-any-return]

    def wait(self, what: str, check: Any, timeout: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                raise TimeoutError(f"Prometheus: {what} not within {timeout}s")
            time.sleep(0.25)


@pytest.fixture(scope="module")
def prometheus(ops_stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    binary = tool("prometheus")
    tmp = tmp_path_factory.mktemp("prometheus")
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(ALERTS)],
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}
            for job, port in scrape_jobs(ops_stack).items()
        ],
    }
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log = (tmp / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={tmp / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--storage.tsdb.retention.time=1h",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    prom = Prometheus(f"http://127.0.0.1:{port}")
    try:

        def ready() -> bool:
            assert process.poll() is None, (tmp / "prometheus.log").read_text()[-3000:]
            try:
                return prom.http.get("/-/ready").status_code == 200
            except httpx.HTTPError:
                return False

        prom.wait("ready", ready)
        yield prom
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def panel_queries() -> list[tuple[str, str, str]]:
    """(panel title, legend, PromQL) for every query of every dashboard panel."""
    dashboard = json.loads(DASHBOARD.read_text())
    return [
        (panel["title"], target.get("legendFormat", ""), target["expr"])
        for panel in dashboard["panels"]
        if panel["type"] != "row"
        for target in panel["targets"]
    ]


def grafana_to_promql(expr: str) -> str:
    # Grafana fills $__rate_interval with max(4 x scrape interval, the step); 1m covers this run
    return expr.replace("$__rate_interval", "1m")


def show(result: list[dict[str, Any]]) -> str:
    if not result:
        return "(no series)"
    parts = []
    for row in result:
        labels = ",".join(f"{k}={v}" for k, v in sorted(row["metric"].items()) if k != "__name__")
        value = float(row["value"][1])
        parts.append(f"{{{labels}}} {value:.4g}" if labels else f"{value:.4g}")
    return "; ".join(parts)


def register(api: httpx.Client, inbox: Inbox) -> tuple[str, str]:
    """A new account, confirmed by the link in its mail: (email, confirmation token)."""
    tag = uuid.uuid4().hex[:8]
    email = f"ops-{tag}@example.com"
    registered = api.post(
        "/api/auth/register",
        headers={"Parley-Token-Transport": "body"},
        json={"email": email, "username": f"ops_{tag}", "password": PASSWORD},
    )
    assert registered.status_code == 201, registered.text
    mail = inbox.wait_for(email)
    text = mail.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    token = re.search(r"/email-verify/([A-Za-z0-9_-]+)", text)
    assert token, text
    assert api.post("/api/auth/email/confirm", json={"token": token.group(1)}).status_code == 200
    return email, token.group(1)


def login(api: httpx.Client, email: str) -> dict[str, str]:
    response = api.post(
        "/api/auth/login",
        headers={"Parley-Token-Transport": "body"},
        json={"email": email, "password": PASSWORD},
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def ask_later(api: httpx.Client, auth: dict[str, str], text: str, **headers: str) -> dict[str, Any]:
    dialog = api.post("/api/dialogs", json={}, headers=auth)
    assert dialog.status_code == 201, dialog.text
    posted = api.post(
        f"/api/dialogs/{dialog.json()['id']}/messages",
        json={"message_text": text},
        headers={**auth, **headers},
    )
    assert posted.status_code == 202, posted.text
    return posted.json()  # type: ignore[no-any-return]


def wait_answer(api: httpx.Client, auth: dict[str, str], message_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        message = api.get(f"/api/messages/{message_id}", headers=auth).json()
        if message["status"] in ("completed", "failed", "cancelled"):
            return message  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise TimeoutError(f"no answer to {message_id}")


def ask(api: httpx.Client, auth: dict[str, str], text: str, **headers: str) -> dict[str, Any]:
    return wait_answer(api, auth, ask_later(api, auth, text, **headers)["id"])


def test_prometheus_reads_every_series_and_panel_while_the_stack_answers(
    ops_stack: Stack,
    prometheus: Prometheus,
    inbox: tuple[Inbox, int],
    model: ModelServer,
    receiver: tuple[Receiver, str],
) -> None:
    jobs = scrape_jobs(ops_stack)

    def all_up() -> bool:
        targets = prometheus.api("targets")["activeTargets"]
        return {t["labels"]["job"] for t in targets if t["health"] == "up"} == set(jobs)

    prometheus.wait("every process scraped", all_up)

    hooks, hooks_url = receiver
    hook_path = f"/ops-{uuid.uuid4().hex}"
    request_id = f"ops-{uuid.uuid4().hex[:12]}"
    reply = "Metrics flow: " + " ".join(f"tok{i}" for i in range(12))
    model.behaviour.reply = reply
    with ops_stack.client() as api:
        email, _ = register(api, inbox[0])
        auth = login(api, email)
        created = api.post("/api/webhooks", json={"url": hooks_url + hook_path}, headers=auth)
        assert created.status_code == 201, created.text
        # Answers spread over several scrapes, so that counters are seen before and after they
        # grow (rates and quantiles need two points); the first two meet one provider 5xx each.
        for n in range(3):
            model.faults_served = 0
            model.behaviour.fault, model.behaviour.fault_times = ("500", 1) if n < 2 else (None, 0)
            message = ask(
                api,
                auth,
                f"ops question {n} {uuid.uuid4()}",
                **{"X-Request-ID": f"{request_id}-{n}"},
            )
            assert (message["status"], message["answer_text"]) == ("completed", reply), message
            list(sse(api, auth, message["id"]))  # the stream endpoint too (a single `done`)
            time.sleep(1.2)

        # Saturation, live: slow answers, more of them than the worker has slots (the stack runs
        # LLM_WORKER_CONCURRENCY=2), one followed over SSE. Jobs wait in the queue, every slot is
        # in flight, a stream is open: the autoscaling signals, as Prometheus sees them.
        model.behaviour.fault = None
        model.behaviour.token_delay = 0.3  # ~4 s an answer: the queue holds jobs that long
        live: dict[str, str] = {}
        streamed: list[Any] = []
        slow = [ask_later(api, auth, f"ops slow {n} {uuid.uuid4()}") for n in range(4)]
        reader_api = ops_stack.client()
        reader = threading.Thread(
            target=lambda: streamed.extend(sse(reader_api, auth, slow[0]["id"]))
        )
        reader.start()
        saturated = (
            'max(parley_llm_queue_depth{queue="llm"}) >= 1'
            ' and on() max(parley_llm_queue_oldest_age_seconds{queue="llm"}) > 0'
            " and on() sum(parley_llm_inflight) >= 2 and on() sum(parley_sse_open_streams) >= 1"
        )
        prometheus.wait(
            "a saturated worker, seen by a scrape", lambda: prometheus.query(saturated), timeout=8
        )
        for title, legend, expr in panel_queries():
            if title.startswith(("In-flight", "Open answer streams", "Queue depth", "Oldest")):
                live[f"{title} [{legend}]"] = show(prometheus.query(grafana_to_promql(expr)))
        reader.join(20)
        reader_api.close()
        assert streamed
        assert streamed[-1][1] == "done", streamed
        for message in slow:
            assert wait_answer(api, auth, message["id"])["status"] == "completed"
        model.behaviour.token_delay = 0

        # more mail and sign-ins after the first scrapes: a second account, a second login
        register(api, inbox[0])
        login(api, email)
        hooks.wait_for(7, hook_path)
        # /metrics is never served through the public port
        public = api.get("/metrics")
        assert "parley_http_requests_total" not in public.text

    # every DESIGN §8 metric, from the process that owns it, back from Prometheus
    def every_metric() -> set[str]:
        rows = prometheus.query('count by (__name__) ({__name__=~"parley_.+"})')
        names = {r["metric"]["__name__"] for r in rows}
        return names if set(DESIGN_METRICS) <= names else set()

    prometheus.wait("every DESIGN §8 metric", every_metric)
    for expr in (
        'parley_answers_total{status="completed"} >= 7',
        'parley_llm_retries_total{reason="http_500"} >= 2',
        'parley_webhook_deliveries_total{result="success"} >= 7',
        'sum(parley_emails_total{result="sent"}) >= 2',
        'parley_auth_logins_total{result="success"} >= 2',
    ):
        prometheus.wait(expr, lambda expr=expr: prometheus.query(expr), timeout=10)

    # low cardinality: no label value looks like an email, an id or a token
    for row in prometheus.query('{__name__=~"parley_.+"}'):
        for key, value in row["metric"].items():
            assert not FORBIDDEN_LABEL_VALUE.search(value), (
                f"{row['metric']['__name__']} {key}={value}"
            )

    # every dashboard query is valid PromQL and (for the panels) has data
    time.sleep(2.5)  # a couple more scrapes after the last answer
    report = []
    for title, legend, expr in panel_queries():
        result = prometheus.query(grafana_to_promql(expr))
        report.append({"panel": title, "legend": legend, "expr": expr, "value": show(result)})
    must_have_data = [
        "Requests per second",
        "latency",
        "first token",
        "Tokens",
        "Queue depth",
        "In-flight",
        "Mails",
        "Webhook",
        "Answers by status",
        "llm-workers up",
    ]
    print("\n[ops] dashboard panels as evaluated by Prometheus during the run:")
    for row in report:
        print(f"  {row['panel']} [{row['legend']}]\n    {row['expr']}\n    = {row['value']}")
    print("[ops] while 4 slow answers met a worker with 2 slots (one answer streamed):")
    for name, value in live.items():
        print(f"  {name} = {value}")
    if out := os.environ.get("PARLEY_PANEL_VALUES"):
        Path(out).write_text(json.dumps({"after": report, "saturated": live}, indent=2))
    for needle in must_have_data:
        rows = [r for r in report if needle.lower() in r["panel"].lower()]
        assert rows, needle
        assert any(r["value"] != "(no series)" and "NaN" not in r["value"] for r in rows), rows

    # the alert rules evaluate without errors against the real series
    def evaluated() -> list[dict[str, Any]]:
        groups = prometheus.api("rules")["groups"]
        rules = [r for g in groups for r in g["rules"]]
        return (
            rules
            if rules
            and all(
                r.get("lastEvaluation", "").startswith("2")
                and not r["lastEvaluation"].startswith("0001")
                for r in rules
            )
            else []
        )

    rules = prometheus.wait("alert rules evaluated", evaluated)
    assert [r["name"] for r in rules if r["health"] != "ok"] == [], rules
    assert {r["name"] for r in rules} >= {
        "ParleyLLMQueueBackingUp",
        "ParleyLLMOldestJobTooOld",
        "ParleyHTTPErrorRatioHigh",
        "ParleyNoLLMWorker",
        "ParleyLLMAnswersFailing",
        "ParleyMailDeadLetters",
        "ParleyRefreshTokenReuseSpike",
    }
    firing = [r["name"] for r in rules if r.get("state") == "firing"]
    assert "ParleyNoLLMWorker" not in firing

    # one request id follows each message: gateway -> chat -> Celery task -> callback
    log = ops_stack.log()
    for n in range(3):
        rid = f"{request_id}-{n}"  # chat: queued + stored (the callback); worker: the task
        services = {
            line.split("|", 1)[0].strip()
            for line in log.splitlines()
            if f"request_id={rid}" in line
        }
        assert {"chat", "llm-worker"} <= services, (rid, services)
