"""infra/ checked offline: Prometheus config and rules (promtool), the Grafana dashboard and its
provisioning, the Kubernetes example (kubernetes-validate), and that they agree with each other
and with docker-compose.yml."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import ROOT, tool

INFRA = ROOT / "infra"
PROMETHEUS = INFRA / "prometheus"
GRAFANA = INFRA / "grafana"
K8S = INFRA / "k8s"
DASHBOARD = GRAFANA / "dashboards/parley.json"
PARLEY_PROCESSES = {"gateway", "auth", "chat", "chat-worker", "llm-worker", "mailer"}


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def promtool(*args: str | Path) -> str:
    result = subprocess.run(
        [tool("promtool"), *map(str, args)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def compose() -> dict[str, Any]:
    return load(ROOT / "docker-compose.yml")  # type: ignore[no-any-return]


# -- Prometheus ------------------------------------------------------------------------------


def test_promtool_check_config() -> None:
    output = promtool("check", "config", PROMETHEUS / "prometheus.yml")
    assert "SUCCESS" in output


def test_promtool_check_rules() -> None:
    output = promtool("check", "rules", PROMETHEUS / "alerts.yml")
    assert "SUCCESS" in output


def test_promtool_alert_unit_tests() -> None:
    promtool("test", "rules", PROMETHEUS / "alerts.test.yml")


def test_alerts_cover_what_operators_need() -> None:
    rules = {r["alert"]: r for g in load(PROMETHEUS / "alerts.yml")["groups"] for r in g["rules"]}
    needed = {
        "ParleyLLMQueueBackingUp": "parley_llm_queue_depth",
        "ParleyLLMOldestJobTooOld": "parley_llm_queue_oldest_age_seconds",
        "ParleyHTTPErrorRatioHigh": "parley_http_requests_total",
        "ParleyNoLLMWorker": 'up{job="llm-worker"}',
        "ParleyLLMAnswersFailing": "parley_answers_total",
        "ParleyMailDeadLetters": 'result="dead_lettered"',
        "ParleyRefreshTokenReuseSpike": "parley_refresh_reuse_detected_total",
    }
    for name, needle in needed.items():
        assert name in rules, name
        assert needle in rules[name]["expr"], (name, rules[name]["expr"])
    for name, rule in rules.items():
        assert rule["labels"]["severity"] in ("critical", "warning", "info"), name
        assert rule["annotations"]["summary"], name


def test_prometheus_scrapes_every_process_by_compose_service_name_and_port() -> None:
    config = load(PROMETHEUS / "prometheus.yml")
    services = compose()["services"]
    scraped: dict[str, tuple[str, int]] = {}
    for job in config["scrape_configs"]:
        for sd in job.get("dns_sd_configs", []):
            name, *pools = sd["names"]
            scraped[job["job_name"]] = (name, sd["port"])
            for pool in pools:  # the llm-worker job finds every pool's replicas
                assert (job["job_name"], pool) == ("llm-worker", "llm-worker-local")
                pool_env = services[pool]["environment"]
                assert int(pool_env["LLM_WORKER_METRICS_PORT"]) == sd["port"]
    assert set(scraped) == PARLEY_PROCESSES
    metrics_port_env = {
        "gateway": "PARLEY_GATEWAY_METRICS_PORT",
        "llm-worker": "LLM_WORKER_METRICS_PORT",
        "chat-worker": "CHAT_WORKER_METRICS_PORT",
        "mailer": "MAILER_PORT",
    }
    for job, (name, port) in scraped.items():
        assert job == name, f"job {job} scrapes {name}"
        assert name in services, f"{name} is not a compose service"
        service = services[name]
        if job in metrics_port_env:
            assert int(service["environment"][metrics_port_env[job]]) == port, job
        else:  # auth and chat serve /metrics on their HTTP port
            assert f'"--port", "{port}"' in json.dumps(service["command"]), job
        assert str(port) in " ".join(service["healthcheck"]["test"]) or job == "gateway", job
    assert "alerts.yml" in config["rule_files"]


# -- Grafana ---------------------------------------------------------------------------------


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())  # type: ignore[no-any-return]


def test_dashboard_is_a_grafana_10_dashboard() -> None:
    board = dashboard()
    assert board["schemaVersion"] >= 36  # Grafana 10.0 writes 38; 10.4 writes 39
    assert 0 < len(board["uid"]) <= 40
    assert board["title"]
    assert "id" not in board or board["id"] is None  # provisioned: Grafana assigns the id
    assert board["time"]["from"].startswith("now-")
    [variable] = board["templating"]["list"]
    assert (variable["type"], variable["query"], variable["name"]) == (
        "datasource",
        "prometheus",
        "datasource",
    )

    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    occupied: set[tuple[int, int]] = set()
    for panel in board["panels"]:
        grid = panel["gridPos"]
        assert all(isinstance(grid[k], int) for k in ("h", "w", "x", "y")), panel["title"]
        assert 0 <= grid["x"] <= grid["x"] + grid["w"] <= 24, panel["title"]
        cells = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & occupied, f"{panel['title']} overlaps another panel"
        occupied |= cells
        if panel["type"] == "row":
            assert panel["panels"] == []
            assert grid["w"] == 24
            continue
        assert panel["type"] in ("timeseries", "stat", "gauge", "bargauge", "table"), panel["title"]
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["fieldConfig"]["defaults"]["unit"]
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert ref_ids
        assert len(ref_ids) == len(set(ref_ids))
        for target in panel["targets"]:
            assert target["expr"].strip()
            assert target["datasource"] == panel["datasource"]


def test_dashboard_shows_what_the_issue_asks_for() -> None:
    exprs = " ".join(t["expr"] for p in dashboard()["panels"] for t in p.get("targets", []))
    for metric in (
        "parley_http_requests_total",
        "parley_http_request_duration_seconds_bucket",
        "parley_llm_time_to_first_token_seconds_bucket",
        "parley_llm_tokens_total",
        "parley_llm_queue_depth",
        "parley_llm_queue_oldest_age_seconds",
        "sum by (provider) (parley_llm_inflight)",  # each provider's pool
        "sum by (provider, model, le) (rate(parley_llm_time_to_first_token_seconds_bucket",
        "sum by (provider, reason) (rate(parley_llm_retries_total",
        "parley_emails_total",
        "parley_webhook_deliveries_total",
    ):
        assert metric in exprs, metric


def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    """promtool parses each panel query (as a recording rule; Grafana's $__rate_interval -> 5m)."""
    rules = [
        {
            "record": f"parley:panel_{panel['id']}_{target['refId']}",
            "expr": target["expr"].replace("$__rate_interval", "5m"),
        }
        for panel in dashboard()["panels"]
        for target in panel.get("targets", [])
    ]
    path = tmp_path / "panels.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "panels", "rules": rules}]}))
    assert f"SUCCESS: {len(rules)} rules found" in promtool("check", "rules", path)


def test_grafana_provisioning_matches_compose() -> None:
    [source] = load(GRAFANA / "provisioning/datasources/prometheus.yml")["datasources"]
    assert (source["type"], source["uid"], source["url"]) == (
        "prometheus",
        "prometheus",
        "http://prometheus:9090",
    )
    assert dashboard()["templating"]["list"][0]["current"]["value"] == source["uid"]
    [provider] = load(GRAFANA / "provisioning/dashboards/parley.yml")["providers"]
    assert provider["type"] == "file"
    grafana = compose()["services"]["grafana"]
    mounts = dict(v.split(":")[:2] for v in grafana["volumes"] if v.startswith("./"))
    assert mounts["./infra/grafana/provisioning"] == "/etc/grafana/provisioning"
    assert mounts["./infra/grafana/dashboards"] == provider["options"]["path"]
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == f"{provider['options']['path']}/{DASHBOARD.name}"


# -- Kubernetes ------------------------------------------------------------------------------


def k8s_resources() -> list[tuple[str, dict[str, Any]]]:
    return [
        (path.name, doc)
        for path in sorted(K8S.glob("*.yaml"))
        if path.name != "kustomization.yaml"
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    ]


@pytest.mark.parametrize("version", ["1.28", None])
def test_kubernetes_example_is_valid(version: str | None) -> None:
    import kubernetes_validate

    version = version or kubernetes_validate.latest_version()
    resources = k8s_resources()
    assert resources
    for name, resource in resources:
        try:
            kubernetes_validate.validate(resource, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            raise AssertionError(
                f"{name}: {resource['kind']} {resource['metadata']['name']}: {exc}"
            ) from exc


def test_kustomization_lists_the_manifests() -> None:
    listed = set(load(K8S / "kustomization.yaml")["resources"])
    present = {p.name for p in K8S.glob("*.yaml")} - {
        "kustomization.yaml",
        "prometheus-adapter.yaml",
    }
    assert listed == present


def test_kubernetes_runs_every_process_with_probes_and_an_hpa_on_queue_depth() -> None:
    resources = k8s_resources()
    deployments = {d["metadata"]["name"]: d for _, d in resources if d["kind"] == "Deployment"}
    pools = {"llm-worker": "llm", "llm-worker-local": "llm.local"}  # one per provider queue
    assert set(deployments) == PARLEY_PROCESSES | set(pools)
    for name, deployment in deployments.items():
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", name
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", name
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true", name
        assert "memory" in container["resources"]["limits"], name
    services = {s["metadata"]["name"] for _, s in resources if s["kind"] == "Service"}
    assert {"gateway", "auth", "chat"} <= services

    hpas = {
        r["spec"]["scaleTargetRef"]["name"]: r
        for _, r in resources
        if r["kind"] == "HorizontalPodAutoscaler"
    }
    assert set(hpas) == set(pools)
    for pool, queue in pools.items():  # each pool scales on its own queue
        hpa = hpas[pool]
        external = [m["external"] for m in hpa["spec"]["metrics"] if m["type"] == "External"]
        assert external[0]["metric"] == {
            "name": "parley_llm_queue_depth",
            "selector": {"matchLabels": {"queue": queue}},
        }
        pods = [m["pods"] for m in hpa["spec"]["metrics"] if m["type"] == "Pods"]
        assert pods[0]["metric"]["name"] == "parley_llm_inflight"
        [container] = deployments[pool]["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e["value"] for e in container["env"]}
        assert env["LLM_WORKER_QUEUES"] == queue
        assert "-Q" not in container["command"]  # the queues come from LLM_WORKER_QUEUES
    adapter = load(K8S / "prometheus-adapter.yaml")
    assert "parley_llm_queue_depth" in adapter["data"]["config.yaml"]
    assert "parley_llm_inflight" in adapter["data"]["config.yaml"]
    worker = deployments["llm-worker"]["spec"]["template"]["spec"]
    assert worker["terminationGracePeriodSeconds"] >= 60  # room to drain answers under way
    command = worker["containers"][0]["command"]
    assert command[command.index("-P") + 1] == "threads"
