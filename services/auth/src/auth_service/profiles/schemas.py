from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, Field

from kit.schemas import Input


def _name(value: str) -> str:
    value = value.strip()
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in value):
        raise ValueError("Use letters, spaces and punctuation only.")
    return value


Name = Annotated[str, Field(max_length=32), AfterValidator(_name)]


class ProfileUpdate(Input):
    first_name: Name | None = None
    last_name: Name | None = None
