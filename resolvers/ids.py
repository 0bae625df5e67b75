"""Parsing ids that arrive from clients. A malformed id is simply not found."""
from resolvers.errors import not_found

MAX_DB_INT = 2**31 - 1


def parse_id(raw: str | int | None, what: str, field: str | None = None) -> int:
    try:
        value = int(str(raw))
    except (TypeError, ValueError):
        raise not_found(what, field) from None
    if not 0 < value <= MAX_DB_INT:
        raise not_found(what, field)
    return value
