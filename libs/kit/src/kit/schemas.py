"""What every request body and query shares: text that a database can store.

PostgreSQL's `text` cannot hold a NUL character (SQLite can), so a NUL that reached the database
would be a 500 on one backend and stored on the other. Request models derive from `Input`, and
free-text query parameters use `QueryText`, so both backends refuse it the same way: a 422 on
the field.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, field_validator

NUL_MESSAGE = "NUL characters are not allowed."
# what the OpenAPI document says of every such text (`QueryText` takes it through Query(...))
NO_NUL_PATTERN = r"^[^\u0000]*$"
NO_NUL = {"pattern": NO_NUL_PATTERN}


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple | set | frozenset):
        return any(_has_nul(item) for item in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return False


def no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError(NUL_MESSAGE)
    return value


QueryText = Annotated[str, AfterValidator(no_nul)]


def _document_no_nul(schema: dict[str, Any]) -> None:
    """Add the no-NUL pattern to every text in a JSON schema that has no pattern of its own."""
    if schema.get("type") == "string" and "pattern" not in schema and "format" not in schema:
        schema["pattern"] = NO_NUL_PATTERN
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            _document_no_nul(sub)
    for key in ("items", "additionalProperties", "propertyNames"):  # lists; dicts' values, keys
        if isinstance(schema.get(key), dict):
            _document_no_nul(schema[key])
    for sub in schema.get("properties", {}).values():
        _document_no_nul(sub)


class Input(BaseModel):
    """Base of request bodies: any field holding text with a NUL is refused (and the schema
    says so, so generated clients and Schemathesis know)."""

    model_config = ConfigDict(json_schema_extra=_document_no_nul)

    @field_validator("*", mode="after")
    @classmethod
    def _refuse_nul(cls, value: Any) -> Any:
        if _has_nul(value):
            raise ValueError(NUL_MESSAGE)
        return value
