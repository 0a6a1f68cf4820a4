"""What every request body and query shares: text that a database can store.

PostgreSQL's `text` cannot hold a NUL character (SQLite can), so a NUL that reached the database
would be a 500 on one backend and stored on the other. Request models derive from `Input`, and
free-text query parameters use `QueryText`, so both backends refuse it the same way: a 422 on
the field.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, field_validator

NUL_MESSAGE = "NUL characters are not allowed."


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


class Input(BaseModel):
    """Base of request bodies: any field holding text with a NUL is refused."""

    @field_validator("*", mode="after")
    @classmethod
    def _refuse_nul(cls, value: Any) -> Any:
        if _has_nul(value):
            raise ValueError(NUL_MESSAGE)
        return value
