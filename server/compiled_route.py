"""POST /graphql for the compiled documents (schema/compiled), in front of the general
GraphQL app: a request it can answer gets its JSON straight away; every other one, and
any the compiled path declines, goes to the general app with its body replayed."""
from __future__ import annotations

import logging
from collections.abc import Iterable

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from resolvers.auth import bearer_token
from schema.compiled import CompiledAssignment, compiled_operation
from schema.compiled.inbox import Decline
from schema.limits import Limits
from server.health import DATABASE_UNAVAILABLE
from server.media_types import negotiate

log = logging.getLogger(__name__)


class CompiledOperations:
    def __init__(self, graphql: ASGIApp, limits: Limits):
        self.graphql = graphql
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not _is_json(scope):
            await self.graphql(scope, receive, send)
            return
        # The answer's media type as the general path would choose it; a request that
        # accepts neither JSON type is the general path's to refuse.
        media_type = negotiate(_header(scope, b"accept"))
        if media_type is None:
            await self.graphql(scope, receive, send)
            return
        body, more = await _read_body(receive)
        answer = None if more else await self._answer(scope, body)
        if answer is not None:
            await _send_json(send, answer, media_type)
            return
        await self.graphql(scope, _replay(body, more, receive), send)

    async def _answer(self, scope: Scope, body: bytes) -> bytes | None:
        try:
            request = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(request, dict):
            return None
        operation = compiled_operation(request.get("query"), request.get("operationName"))
        variables = request.get("variables")
        if variables is None:
            variables = {}
        if operation is None or not isinstance(variables, dict):
            return None
        token = bearer_token(_header(scope, b"authorization"))
        try:
            return orjson.dumps({"data": await operation.execute(variables, token, self.limits)})
        except Decline:
            return None
        except DATABASE_UNAVAILABLE:
            raise  # the app's 503 handler answers, as for the general path
        except Exception:
            if isinstance(operation, CompiledAssignment):  # operation.mutates: the compiled mutation
                # It may have changed data: running it again would do it twice. The
                # general path would mask the error just so.
                log.exception("compiled %s failed", operation.name)
                return orjson.dumps(operation.masked_error)
            # A defect here must not cost the client its answer: the general path runs it.
            log.exception("compiled %s failed; answered by the general path", operation.name)
            return None


def _is_json(scope: Scope) -> bool:
    content_type = _header(scope, b"content-type") or ""
    return content_type.split(";")[0].strip().lower() == "application/json"


def _header(scope: Scope, name: bytes) -> str | None:
    headers: Iterable[tuple[bytes, bytes]] = scope["headers"]  # ASGI: (name, value) byte pairs
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


async def _read_body(receive: Receive) -> tuple[bytes, list[Message]]:
    """The whole body, or what was read before a disconnect (then `more` holds it)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), [message]
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), []


def _replay(body: bytes, pending: list[Message], receive: Receive) -> Receive:
    messages: list[Message] = [{"type": "http.request", "body": body, "more_body": False}, *pending]

    async def replayed() -> Message:
        return messages.pop(0) if messages else await receive()
    return replayed


async def _send_json(send: Send, body: bytes, media_type: str) -> None:
    await send({
        "type": "http.response.start",
        "status": 200,  # the compiled path answers only documents that run: never a request error
        "headers": [(b"content-type", media_type.encode()), (b"content-length", str(len(body)).encode())],
    })
    await send({"type": "http.response.body", "body": body})

