"""Outgoing graphql-transport-ws frames: orjson, and a shared `next` payload serialised
once for all the subscribers who receive it.

Subscribers who share an event's execution (schema/multiplex.py) are handed the very
same `data` dict, so its JSON is made once and each subscriber's frame is spliced from
it around their own operation id. Frames stay text frames, as Strawberry sends them."""
from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Mapping

import orjson

# Recent payloads by the identity of their `data` dict (held, so its id() is not reused
# while cached). Subscribers of an event send it within moments of each other.
_MAX_PAYLOADS = 256
_payloads: OrderedDict[int, tuple[dict[object, object], str]] = OrderedDict()


def encode(message: Mapping[str, object]) -> str:
    payload = message.get("payload")
    if message.get("type") == "next" and isinstance(payload, dict) and payload.keys() == {"data"}:
        return '{"id":' + dumps(message["id"]) + ',"type":"next","payload":' + _data_payload(payload["data"]) + "}"
    # With errors (masked per subscriber) or extensions, or any other message type.
    return dumps(message)


def _data_payload(data: object) -> str:
    if type(data) is not dict:
        return dumps({"data": data})
    entry = _payloads.get(id(data))
    if entry is not None and entry[0] is data:
        return entry[1]
    text = dumps({"data": data})
    _payloads[id(data)] = (data, text)
    while len(_payloads) > _MAX_PAYLOADS:
        _payloads.popitem(last=False)
    return text


def dumps(value: object) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        # orjson refuses a few things json accepts (integers beyond 64 bits, non-string
        # keys); such a frame goes out as Strawberry would have sent it.
        return json.dumps(value, separators=(",", ":"))
