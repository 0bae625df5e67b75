"""What a graphql-transport-ws frame from a client must look like before the protocol
handler touches it: Strawberry's handler indexes frames as dicts of the right types, and
an array, a string, null or a non-string query would raise inside it and drop the socket
(1006) instead of closing it with 4400 as the protocol asks.

Nor may a frame make the close itself impossible. A close reason holds at most 123 bytes
of UTF-8 (RFC 6455 5.5: a control frame carries 125 bytes, two of them the code), and
Strawberry's handler echoes client text into two of its reasons: an unknown `type`
("Unknown message type: ...") and a reused operation `id` ("Subscriber for ... already
exists", 4409). Text past that length, or text UTF-8 cannot hold (a lone surrogate, sent
as the JSON escape "\\ud800"), would make the close raise and drop the socket without a
code: such a type or subscription id is refused here, with a reason of our own."""
from __future__ import annotations

from collections.abc import Mapping

_OPTIONAL_OBJECT = (dict, type(None))
_OPTIONAL_STRING = (str, type(None))
_TYPES = frozenset({"connection_init", "ping", "pong", "subscribe", "complete"})
# Operation ids go into the 4409 reason with 30 bytes of text around them. UUIDs (36) and
# counters, what clients use, fit with room to spare.
MAX_ID_BYTES = 64
# How much of an unknown `type` a reason shows.
_SHOWN_BYTES = 64


def frame_problem(message: object) -> str | None:
    """Why the frame is invalid (the close reason), or None for a well-formed frame."""
    if not isinstance(message, dict):
        return "Messages must be JSON objects"
    kind = message.get("type")
    if not isinstance(kind, str):
        return "A message's `type` must be a string"
    if kind not in _TYPES:
        return f"Unknown message type: {_shown(kind)}"
    if kind in ("subscribe", "complete"):
        operation_id = message.get("id")
        if not isinstance(operation_id, str) or not operation_id:
            return f"A {kind} message needs a non-empty string `id`"
    if kind == "subscribe":
        if not _fits(message["id"], MAX_ID_BYTES):
            return f"A subscribe message's `id` must be valid Unicode of at most {MAX_ID_BYTES} bytes"
        return _subscribe_payload_problem(message.get("payload"))
    return None


def _subscribe_payload_problem(payload: object) -> str | None:
    if not isinstance(payload, Mapping):
        return "A subscribe message's `payload` must be an object"
    extensions = payload.get("extensions")
    if not isinstance(extensions, _OPTIONAL_OBJECT):
        return "`payload.extensions` must be an object"
    query = payload.get("query")
    # A persisted document's request may leave the text out (its hash is in `extensions`).
    if not isinstance(query, str) and not (query is None and extensions):
        return "`payload.query` must be a string"
    if not isinstance(payload.get("variables"), _OPTIONAL_OBJECT):
        return "`payload.variables` must be an object"
    if not isinstance(payload.get("operationName"), _OPTIONAL_STRING):
        return "`payload.operationName` must be a string"
    return None


def _fits(text: str, max_bytes: int) -> bool:
    try:
        return len(text.encode()) <= max_bytes
    except UnicodeEncodeError:  # a lone surrogate
        return False


def _shown(text: str) -> str:
    """Client text as a close reason can carry it: what UTF-8 cannot hold replaced, cut
    to a length (never inside a character)."""
    return text.encode(errors="replace")[:_SHOWN_BYTES].decode(errors="ignore")
