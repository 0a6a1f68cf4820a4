"""Keyset pagination, newest first, for every list of the API.

Rows are ordered by a timestamp and their id (both descending: the id breaks ties between rows
written in the same instant); a page is read as `limit + 1` rows after a position, and the extra
row says whether there is a next page. The position travels as an opaque cursor: `(timestamp,
id)` in URL-safe base64, refused with a 422 on the cursor's field when it is not one of ours.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import and_, or_

from kit.errors import FieldErrors

Row = TypeVar("Row")
Select = TypeVar("Select", bound=Any)  # a SQLAlchemy/SQLModel select of the rows


@dataclass(frozen=True)
class Position:
    """Where a page ends: the last row's timestamp and id."""

    at: datetime
    id: uuid.UUID


def encode_cursor(position: Position) -> str:
    raw = f"{position.at.isoformat()}|{position.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, field: str = "cursor") -> Position | None:
    """The position a cursor names; None for no cursor (the first page)."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, row_id = raw.split("|", 1)
        return Position(datetime.fromisoformat(at), uuid.UUID(row_id))
    except (ValueError, UnicodeDecodeError):
        raise FieldErrors({field: ["This cursor is invalid."]}) from None


def newest_first(
    query: Select, at_column: Any, id_column: Any, after: Position | None, limit: int
) -> Select:
    """`query` ordered newest first, from just after `after`, `limit + 1` rows (see `split`)."""
    if after is not None:
        query = query.where(
            or_(at_column < after.at, and_(at_column == after.at, id_column < after.id))
        )
    ordered: Select = query.order_by(at_column.desc(), id_column.desc()).limit(limit + 1)
    return ordered


def split(
    rows: Sequence[Row], limit: int, position: Callable[[Row], Position]
) -> tuple[list[Row], str | None]:
    """A page of rows read by `newest_first`, and the cursor of the next page (None if last)."""
    page = list(rows[:limit])
    more = len(rows) > limit
    return page, encode_cursor(position(page[-1])) if more and page else None
