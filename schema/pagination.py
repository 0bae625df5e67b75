"""Opaque keyset cursors, the shared PageInfo type, and the one way a connection cuts
its page."""
from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import orjson
import strawberry

from resolvers.errors import validation
from resolvers.ids import MAX_DB_INT

Row = TypeVar("Row")


@strawberry.type(description="Where a page sits in its list.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="Whether more items follow `endCursor`.")
    end_cursor: str | None = strawberry.field(description="Pass as `after` to get the next page.")


@dataclass(frozen=True)
class KeysetPage(Generic[Row]):
    """One page of a keyset-paged list: each row with its cursor, and the PageInfo."""

    rows: list[tuple[str, Row]]
    page_info: PageInfo


def keyset_page(rows: Sequence[Row], size: int, after: str | None, cursor_of: Callable[[Row], str]) -> KeysetPage[Row]:
    """Cut a page from `rows` as the resolvers read them: up to `size + 1`, the extra row
    only saying that a next page exists. An empty page keeps the cursor it was asked
    for, so a client polling the end of a list keeps its place."""
    page = [(cursor_of(row), row) for row in rows[:size]]
    end_cursor = page[-1][0] if page else after
    return KeysetPage(page, PageInfo(has_next_page=len(rows) > size, end_cursor=end_cursor))


def encode_cursor(*parts: object) -> str:
    values = [p.isoformat() if isinstance(p, datetime) else p for p in parts]
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode()


def decode_cursor(cursor: str, shape: tuple[type, ...], field: str = "after") -> list[Any]:
    """Decode a cursor made by `encode_cursor` with parts of the given types."""
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not isinstance(values, list) or len(values) != len(shape):
            raise ValueError
        parsed: list[Any] = []
        for value, kind in zip(values, shape, strict=True):
            if kind is datetime:
                moment = datetime.fromisoformat(value)
                if moment.tzinfo is None:
                    raise ValueError
                # Raises OverflowError at the calendar's ends ("9999-12-31T23:59-14:00").
                parsed.append(moment.astimezone(UTC))
            elif kind is int and isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_DB_INT:
                # Out of the columns' range, PostgreSQL rejects the parameter (an internal error).
                parsed.append(value)
            else:
                raise ValueError
        return parsed
    except (ValueError, TypeError, OverflowError, orjson.JSONDecodeError):
        raise validation("Invalid cursor", field) from None
