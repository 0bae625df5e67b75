"""Reading callback bodies (form-encoded or JSON) into plain values, or CallbackError."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson

from providers.base import CallbackError

# Far above any provider's callback (Twilio sends a few dozen parameters).
MAX_FIELDS = 1000


def form_pairs(body: bytes) -> list[tuple[str, str]]:
    """An application/x-www-form-urlencoded body's (name, value) pairs, in order."""
    try:
        text = body.decode("utf-8")
        return parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict", max_num_fields=MAX_FIELDS)
    except (UnicodeError, ValueError):
        raise CallbackError(None, "Body is not a form-encoded (UTF-8) parameter list") from None


def form(body: bytes) -> dict[str, str]:
    """The form's parameters by name (a repeated name keeps its first value)."""
    fields: dict[str, str] = {}
    for name, value in form_pairs(body):
        fields.setdefault(name, value)
    return fields


def query(url: str) -> dict[str, list[str]]:
    """A URL's query parameters, each name with all its values."""
    try:
        pairs = parse_qsl(urlsplit(url).query, keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS)
    except (UnicodeError, ValueError):
        return {}
    values: dict[str, list[str]] = {}
    for name, value in pairs:
        values.setdefault(name, []).append(value)
    return values


def json_object(body: bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise CallbackError(None, f"Body is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise CallbackError(None, "Body must be a JSON object")
    return data


def text(data: dict[str, Any], field: str, *, required: bool = True) -> str | None:
    """A non-blank string field, stripped."""
    value = data.get(field)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise CallbackError(field, f"{field} must be a non-empty string")
    return value.strip()


def message_id(raw: Any, field: str) -> int | None:
    """Our message id as a provider echoes it (a number, or its decimal string)."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        raise CallbackError(field, f"{field} must be a message id")
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 19:
        value = int(raw)
    else:
        raise CallbackError(field, f"{field} must be a message id")
    if not 0 < value < 2**63:
        raise CallbackError(field, f"{field} must be a message id")
    return value


def timestamp(raw: Any, field: str, *, naive_is_utc: bool) -> datetime | None:
    """An ISO-8601 time, in UTC. Without a zone it is UTC when the provider documents
    UTC (MessageMedia), refused otherwise."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise CallbackError(field, f"{field} must be an ISO-8601 time")
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise CallbackError(field, f"{field} must be an ISO-8601 time, e.g. 2026-11-25T14:00:00Z") from None
    if value.tzinfo is None:
        if not naive_is_utc:
            raise CallbackError(field, f"{field} must include a time zone")
        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:  # the calendar's first or last day, in a zone that leaves it
        raise CallbackError(field, f"{field} is out of range") from None


def code_text(raw: Any) -> str | None:
    """A code or id as text, whether a provider writes it as a number or a string (None
    for anything else, or blank)."""
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        return None
    return str(raw).strip() or None
