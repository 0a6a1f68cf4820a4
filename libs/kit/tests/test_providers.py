"""The providers file: read as written, or refused with the line and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from kit.providers import ProvidersFileError, default_provider, load

GOOD = """
[[providers]]
name = "openai"
base_url = "https://api.openai.com/v1/"
api_key_env = "OPENAI_API_KEY"

[[providers]]
name = "local"
base_url = "http://vllm:8000/v1"
api_key_env = "LOCAL_API_KEY"
queue = "llm.local"
[[providers.models]]
id = "llama-3.1-8b"
name = "Llama 3.1 8B"
context_tokens = 131072
default = true
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "providers.toml"
    path.write_text(text)
    return path


def test_a_good_file_gives_each_provider_its_queue_models_and_key(tmp_path: Path) -> None:
    providers = load(write(tmp_path, GOOD))
    assert [p.name for p in providers.all] == ["openai", "local"]
    assert providers.qualified
    assert providers.queues() == ["llm", "llm.local"]
    local = providers.get("local")
    assert local is not None
    assert local.base_url == "http://vllm:8000/v1"
    assert local.api_key({"LOCAL_API_KEY": "sk-local"}) == "sk-local"
    assert providers.public_id(local, "llama-3.1-8b") == "local/llama-3.1-8b"
    assert providers.first.base_url == "https://api.openai.com/v1"  # no trailing slash


def test_without_a_file_one_provider_as_before(tmp_path: Path) -> None:
    providers = default_provider("", ["gpt-4o-mini"])
    assert not providers.qualified
    assert providers.queues() == ["llm"]
    assert providers.public_id(providers.first, "gpt-4o-mini") == "gpt-4o-mini"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[[providers]]\nname = "x"\nbase_url = \nqueue = "llm"\n', "at line 3"),
        (GOOD.replace('name = "local"', 'name = "Local Models"'), "line 8: providers.1.name"),
        (GOOD.replace('"http://vllm:8000/v1"', '"vllm:8000"'), "line 9: providers.1.base_url"),
        (
            GOOD.replace("context_tokens = 131072", 'context_tokens = "big"'),
            "line 15: providers.1.models.0.context_tokens",
        ),
        (GOOD.replace('queue = "llm.local"', 'queue = "LLM local"'), "line 11: providers.1.queue"),
        (GOOD.replace('name = "local"', 'name = "openai"'), "line 8: providers.1.name"),
        (
            GOOD.replace('api_key_env = "LOCAL_API_KEY"', 'api_key = "sk-123"'),
            "providers.1.api_key",
        ),
        (
            GOOD.replace(
                'api_key_env = "OPENAI_API_KEY"',
                'api_key_env = "X"\n[[providers.models]]\nid = "gpt-4o"\ndefault = true',
            ),
            "only one model may be the default",
        ),
        ("", "providers: Field required"),
    ],
)
def test_a_bad_file_is_refused_naming_the_line_and_problem(
    tmp_path: Path, text: str, expected: str
) -> None:
    with pytest.raises(ProvidersFileError) as refused:
        load(write(tmp_path, text))
    assert str(refused.value).startswith(str(tmp_path / "providers.toml"))
    assert expected in str(refused.value)


def test_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ProvidersFileError, match="cannot be read"):
        load(tmp_path / "nowhere.toml")
