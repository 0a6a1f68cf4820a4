"""The deployment files are valid without a Docker engine: schema, references, secrets."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())  # type: ignore[no-any-return]


def test_compose_matches_the_compose_spec() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(ROOT / "docker-compose.yml"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_depends_on_names_a_defined_service() -> None:
    services = compose()["services"]
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on undefined {dependency}"


PARLEY_PROCESSES = ("gateway", "auth", "chat", "chat-worker", "llm-worker", "mailer")
LONG_RUNNING = (*PARLEY_PROCESSES, "postgres", "redis", "prometheus", "grafana", "mailcatcher")


def test_every_process_is_in_compose() -> None:
    services = compose()["services"]
    for name in (*LONG_RUNNING, "migrate"):
        assert name in services


def test_no_secret_values_in_compose() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    secrets = (
        "POSTGRES_PASSWORD",
        "PARLEY_INTERNAL_TOKEN",
        "OPENAI_API_KEY",
        "SMTP_PASSWORD",
        "GF_SECURITY_ADMIN_PASSWORD",
        "RABBITMQ_DEFAULT_PASS",
        "BROKER_URL",
    )
    for secret in secrets:
        for line in text.splitlines():
            if f"{secret}:" in line and "${" not in line:
                raise AssertionError(f"{secret} has a literal value: {line.strip()}")
    assert (ROOT / ".env.example").is_file()


def test_every_variable_compose_reads_is_in_env_example() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", text))
    example = {
        line.split("=", 1)[0].strip()
        for line in (ROOT / ".env.example").read_text().splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    }
    assert used - example == set(), "document these in .env.example"
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.startswith(
            ("POSTGRES_PASSWORD", "PARLEY_INTERNAL_TOKEN", "GRAFANA_ADMIN_PASSWORD")
        ):
            assert line.split("=", 1)[1] == "", f"no secret value in the example: {line}"


def test_long_running_services_have_health_checks_and_restart_policies() -> None:
    services = compose()["services"]
    for name in LONG_RUNNING:
        assert services[name].get("restart") in ("unless-stopped", "always"), name
        assert services[name].get("healthcheck", {}).get("test"), name
    for name in PARLEY_PROCESSES:  # Parley's own processes are checked on /readyz
        assert "/readyz" in " ".join(services[name]["healthcheck"]["test"]), name


def test_migrations_run_before_the_services_that_use_the_databases() -> None:
    services = compose()["services"]
    assert services["migrate"]["command"] == ["parley", "migrate"]
    assert services["migrate"]["restart"] == "no"
    for name in ("auth", "chat", "chat-worker"):
        condition = services[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully", name


def test_llm_worker_scales_and_workers_drain() -> None:
    services = compose()["services"]
    worker = services["llm-worker"]
    assert "container_name" not in worker  # --scale llm-worker=N
    assert "ports" not in worker
    assert "threads" in worker["command"]  # one process: its metrics are all in one registry
    assert worker["environment"]["LLM_WORKER_METRICS_HOST"] == "0.0.0.0"
    webhooks = services["chat-worker"]
    assert webhooks["command"][:10] == [
        "celery",
        "-A",
        "chat_service.webhooks.worker",
        "worker",
        "-Q",
        "webhooks",
        "-P",
        "threads",
        "-c",
        "20",
    ]
    assert webhooks["environment"]["CHAT_WORKER_METRICS_PORT"] == "8008"

    def seconds(value: str) -> int:
        return int(value.rstrip("s"))

    assert 35 <= seconds(services["mailer"]["stop_grace_period"]) <= 60  # 30 s to finish sends
    assert seconds(worker["stop_grace_period"]) >= 60  # answers under way finish
    for name in ("gateway", "auth", "chat"):
        assert "--timeout-graceful-shutdown" in services[name]["command"], name


def test_only_the_gateway_is_public_and_metrics_stay_private() -> None:
    services = compose()["services"]
    for name, service in services.items():
        for port in service.get("ports", []):
            if name != "gateway":
                assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port}"
    assert services["gateway"]["ports"] == ["8000:8000"]
    assert services["gateway"]["environment"]["PARLEY_GATEWAY_METRICS_PORT"] == "8009"


def test_files_mounted_into_compose_services_exist() -> None:
    for name, service in compose()["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"


def test_dockerfile_stages_exist() -> None:
    dockerfile = (ROOT / "infra/docker/Dockerfile").read_text()
    for stage in ("AS web", "AS build", "AS runtime"):
        assert stage in dockerfile
