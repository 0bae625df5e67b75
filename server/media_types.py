"""Which media type a GraphQL answer over HTTP takes (GraphQL over HTTP: the
`application/graphql-response+json` a client asks for, or the legacy `application/json`),
and the status that goes with it."""
from __future__ import annotations

from collections.abc import Mapping

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"


def negotiate(accept: str | None) -> str | None:
    """The media type to answer in, None when the client accepts neither. No Accept header
    (or an empty one) means `application/json`, as the specification asks for clients
    written before it."""
    if not accept or not accept.strip():
        return JSON
    best: tuple[float, int, str] | None = None  # (quality, specificity, media type)
    for part in accept.split(","):
        media_range, _, parameters = part.strip().partition(";")
        media_range = media_range.strip().lower()
        quality = _quality(parameters)
        if quality <= 0:
            continue
        for candidate, specificity in _matches(media_range):
            choice = (quality, specificity, candidate)
            if best is None or choice[:2] > best[:2]:
                best = choice
    return best[2] if best else None


def _matches(media_range: str) -> list[tuple[str, int]]:
    if media_range in (GRAPHQL_RESPONSE_JSON, JSON):
        # The specification's media type wins over application/json at equal quality.
        return [(media_range, 3 if media_range == GRAPHQL_RESPONSE_JSON else 2)]
    if media_range in ("application/*", "*/*"):
        return [(JSON, 1)]
    return []


def _quality(parameters: str) -> float:
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value.strip())
            except ValueError:
                return 0.0
    return 1.0


def response_status(media_type: str, response: Mapping[str, object]) -> int:
    """A response without `data` is a request error (the document did not parse or
    validate, its variables were wrong): 400 under the specification's media type, 200
    under application/json, where every well-formed request gets 200."""
    if "data" in response or media_type != GRAPHQL_RESPONSE_JSON:
        return 200
    return 400
