from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

from kit.schemas import Input

# control characters, zero-width and bidirectional marks, line and paragraph separators: a name
# shown to others must look like what it is
NAME_PATTERN = r"^[^\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]*$"
_NAME = re.compile(NAME_PATTERN)


def _name(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError("Use letters, spaces and punctuation only.")
    return value.strip()


Name = Annotated[
    str, Field(max_length=32, json_schema_extra={"pattern": NAME_PATTERN}), AfterValidator(_name)
]


class ProfileUpdate(Input):
    first_name: Name | None = None
    last_name: Name | None = None
