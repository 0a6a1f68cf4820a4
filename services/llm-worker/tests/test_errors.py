"""What a user reads when the provider fails: Parley's words; the provider's go to the log."""

from __future__ import annotations

import httpx
import openai
import pytest

from llm_worker.completion import classify, redact

LEAKY = (
    "Incorrect API key provided: sk-proj-abc1****xyz9. You can find your API key at"
    " https://platform.openai.com/account/api-keys. (org-Secret0rgId42, proj_Abc123456)"
)


def status_error(status: int, message: str = LEAKY) -> openai.APIStatusError:
    request = httpx.Request("POST", "https://provider.example/v1/chat/completions")
    response = httpx.Response(status, request=request, json={"error": {"message": message}})
    return openai.APIStatusError(message, response=response, body={"message": message})


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413, 422, 500, 503])
def test_the_user_never_sees_the_providers_text(
    status: int, caplog: pytest.LogCaptureFixture
) -> None:
    error = classify(status_error(status))
    for secret in ("sk-proj", "abc1", "org-", "Secret0rgId42", "proj_", "openai.com"):
        assert secret not in error["message"]
    assert error["code"] == ("provider_error" if status >= 500 else "provider_rejected")
    logged = caplog.text
    assert "Incorrect API key provided" in logged  # the operator still learns what happened
    assert "Secret0rgId42" not in logged
    assert "abc1" not in logged


def test_redact_keeps_the_rest() -> None:
    assert redact("bad key sk-abcdef123 for org-XYZ123 ok") == (
        "bad key sk-[redacted] for org-[redacted] ok"
    )
