"""Parsing ids that arrive from clients. A malformed id is simply not found."""
from resolvers.errors import not_found

MAX_DB_INT = 2**31 - 1


def parse_id(raw: str | int | None, what: str, field: str | None = None) -> int:
    text = str(raw)
    # Only the canonical form we hand out: int() would also take " 7", "+7", "07", "0_7"
    # and non-ASCII digits ("７") as aliases of 7.
    if not (text.isascii() and text.isdigit()) or text.startswith("0"):
        raise not_found(what, field)
    value = int(text)
    if not 0 < value <= MAX_DB_INT:
        raise not_found(what, field)
    return value
