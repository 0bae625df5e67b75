"""Opaque keyset cursors and the shared PageInfo type."""
from __future__ import annotations

import base64
from datetime import UTC, datetime

import orjson
import strawberry

from resolvers.errors import validation
from resolvers.ids import MAX_DB_INT


@strawberry.type(description="Where a page sits in its list.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="Whether more items follow `endCursor`.")
    end_cursor: str | None = strawberry.field(description="Pass as `after` to get the next page.")


def encode_cursor(*parts: object) -> str:
    values = [p.isoformat() if isinstance(p, datetime) else p for p in parts]
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode()


def decode_cursor(cursor: str, shape: tuple[type, ...], field: str = "after") -> list:
    """Decode a cursor made by `encode_cursor` with parts of the given types."""
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not isinstance(values, list) or len(values) != len(shape):
            raise ValueError
        parsed = []
        for value, kind in zip(values, shape):
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
