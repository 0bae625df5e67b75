"""Refuse request bodies over the configured size before anything reads them."""
from __future__ import annotations

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

TOO_LARGE = "request body too large"


class BodySizeLimit:
    """413 for bodies over `max_bytes`, judged by Content-Length when given and by the
    bytes actually received otherwise (chunked uploads cannot sneak past)."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await _too_large(scope, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLarge:
            await _too_large(scope, send)


class _BodyTooLarge(Exception):
    pass


async def _too_large(scope: Scope, send: Send) -> None:
    # GraphQL clients read a GraphQL error; the webhook's provider its usual shape.
    if scope["path"].startswith("/graphql"):
        body = orjson.dumps({"errors": [{"message": TOO_LARGE, "extensions": {"code": "PAYLOAD_TOO_LARGE"}}]})
    else:
        body = orjson.dumps({"error": TOO_LARGE})
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
