"""The public OpenAPI document (`/api/openapi.json`): auth's and chat's paths, made true.

Each service documents its own routes; what only the gateway knows is added here, so the
document describes what a client actually meets at the public port:

- **security**: every path but the public ones (`routes`: public routes) takes a bearer
  access token (`bearer` scheme); those answer 401 without one, staff paths 403;
- **errors**: every error is `application/problem+json` (RFC 9457, `Problem`); a 422 carries the
  field errors (`ValidationProblem`); any 4xx may come from the gateway itself (401, 413, 429)
  and a 503 from a dependency that is briefly away, so each operation documents those;
- **rate limits**: a 429 carries `Retry-After` and the IETF `RateLimit` headers;
- **`/v1`** (OpenAI's API for programs): its errors are OpenAI's `{"error": {...}}`
  (`OpenAIError`) as `application/json`, a bad field a 400.

Schemathesis runs against this document in `make test` (tests/e2e/test_openapi.py).
"""

from __future__ import annotations

import copy
from typing import Any

import httpx

from gateway import routes
from gateway.config import Settings

PROBLEM = "application/problem+json"
METHODS = ("get", "put", "post", "delete", "patch")

SCHEMAS: dict[str, Any] = {
    "Problem": {
        "type": "object",
        "description": "An error (RFC 9457). `code` is a stable machine string.",
        "required": ["type", "title", "status", "detail", "code"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "code": {"type": "string"},
        },
    },
    "ValidationProblem": {
        "description": "Invalid fields: `errors[field]` lists what is wrong with each.",
        "allOf": [
            {"$ref": "#/components/schemas/Problem"},
            {
                "type": "object",
                "required": ["errors"],
                "properties": {
                    "errors": {
                        "type": "object",
                        "additionalProperties": {"type": "array", "items": {"type": "string"}},
                    }
                },
            },
        ],
    },
}
SCHEMAS["OpenAIError"] = {
    "type": "object",
    "description": "An error of the OpenAI-compatible API (`/v1`), in OpenAI's shape.",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "type", "param", "code"],
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "param": {"type": ["string", "null"]},
                "code": {"type": ["string", "null"]},
            },
        }
    },
}
OPENAI_PREFIX = "/v1/"
RATE_LIMIT_HEADERS = {
    "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}},
    "RateLimit": {"description": "What is left (IETF draft).", "schema": {"type": "string"}},
    "RateLimit-Policy": {"description": "The limit (IETF draft).", "schema": {"type": "string"}},
}
STANDARD = {
    "4XX": "Refused; `code` says why (the gateway's own 401, 413 and 429 included).",
    "503": "A dependency is briefly unavailable; retry after `Retry-After` seconds.",
}


def _problem(description: str, schema: str = "Problem") -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM: {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def _openai_error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OpenAIError"}}},
    }


def describe_openai_operation(operation: dict[str, Any]) -> None:
    """A `/v1` operation: an API key (or access token), OpenAI's errors and statuses."""
    responses: dict[str, Any] = operation.setdefault("responses", {})
    operation["security"] = [{"bearer": []}]
    if responses.pop("422", None) is not None:
        responses["400"] = _openai_error("Invalid input; `param` names the field.")
    for status in list(responses):
        if status[0] in "45":
            responses[status] = _openai_error(responses[status].get("description") or "Refused.")
    responses.setdefault("401", _openai_error("No valid API key (`invalid_api_key`)."))
    responses.setdefault("4XX", _openai_error("Refused; `code` says why."))
    responses.setdefault("5XX", _openai_error("The answer failed, or a dependency is away."))


def describe_operation(path: str, operation: dict[str, Any]) -> None:
    """Security and error responses of one operation, in place."""
    if path.startswith(OPENAI_PREFIX):
        describe_openai_operation(operation)
        return
    responses: dict[str, Any] = operation.setdefault("responses", {})
    route = routes.route_for(path.replace("{", "x").replace("}", "x"))
    if route is None or not route.public:
        operation["security"] = [{"bearer": []}]
        responses.setdefault("401", _problem("No valid access token (or a revoked session)."))
        if route is not None and route.staff:
            responses.setdefault("403", _problem("Only staff may do this."))
    else:
        operation["security"] = []
    for status in list(responses):
        if status == "422":
            responses[status] = _problem("Invalid fields.", "ValidationProblem")
        elif status[0] in "45" and not responses[status].get("content"):
            description = responses[status].get("description") or "Refused."
            responses[status] = _problem(description)
    if "429" in responses:
        responses["429"]["headers"] = RATE_LIMIT_HEADERS
    for status, description in STANDARD.items():
        responses.setdefault(status, _problem(description))


def public_document(documents: list[dict[str, Any]]) -> dict[str, Any]:
    """One document for the public API from the services' own documents."""
    merged: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "Parley API", "version": "1"},
        "paths": {},
        "components": {
            "schemas": copy.deepcopy(SCHEMAS),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": (
                        "The `access_token` from register, login or refresh, or an API key "
                        "(`pk_…`, made in Settings or with `POST /api/keys`)."
                    ),
                }
            },
        },
    }
    for document in documents:
        for path, item in document.get("paths", {}).items():
            if not path.startswith(("/api/", OPENAI_PREFIX)):
                continue
            for method in METHODS:
                if method in item:
                    describe_operation(path, item[method])
            merged["paths"][path] = item
        schemas = document.get("components", {}).get("schemas", {})
        for name, schema in schemas.items():
            if name not in ("HTTPValidationError", "ValidationError"):
                merged["components"]["schemas"][name] = schema
    return merged


async def fetch(http: httpx.AsyncClient, config: Settings) -> dict[str, Any]:
    documents = []
    for base in (config.auth_url, config.chat_url):
        documents.append((await http.get(f"{base}/openapi.json")).json())
    return public_document(documents)
