"""The deployment files are valid without a Docker engine: schema, references, secrets."""

from __future__ import annotations

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


def test_every_process_is_in_compose() -> None:
    services = compose()["services"]
    for name in ("postgres", "redis", "gateway", "auth", "chat", "llm-worker", "mailer", "migrate"):
        assert name in services


def test_no_secret_values_in_compose() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    for secret in ("POSTGRES_PASSWORD", "PARLEY_INTERNAL_TOKEN", "OPENAI_API_KEY"):
        for line in text.splitlines():
            if f"{secret}:" in line and "${" not in line:
                raise AssertionError(f"{secret} has a literal value: {line.strip()}")
    assert (ROOT / ".env.example").is_file()


def test_dockerfile_stages_exist() -> None:
    dockerfile = (ROOT / "infra/docker/Dockerfile").read_text()
    for stage in ("AS web", "AS build", "AS runtime"):
        assert stage in dockerfile
