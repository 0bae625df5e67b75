"""What a graphql-transport-ws frame from a client must look like before the protocol
handler touches it: Strawberry's handler indexes frames as dicts of the right types, and
an array, a string, null or a non-string query would raise inside it and drop the socket
(1006) instead of closing it with 4400 as the protocol asks."""
from __future__ import annotations

from collections.abc import Mapping

_OPTIONAL_OBJECT = (dict, type(None))
_OPTIONAL_STRING = (str, type(None))


def frame_problem(message: object) -> str | None:
    """Why the frame is invalid (the close reason), or None for a well-formed frame."""
    if not isinstance(message, dict):
        return "Messages must be JSON objects"
    kind = message.get("type")
    if not isinstance(kind, str):
        return "A message's `type` must be a string"
    if kind in ("subscribe", "complete"):
        operation_id = message.get("id")
        if not isinstance(operation_id, str) or not operation_id:
            return f"A {kind} message needs a non-empty string `id`"
    if kind == "subscribe":
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
