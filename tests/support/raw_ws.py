"""graphql-transport-ws by hand (the `websockets` library), for tests of the protocol
itself: any frame can be sent, malformed ones included, and every frame received and
the close code the server sent are kept."""
from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin, Subprotocol

from tests.support.graphql_ws import TRANSPORT_WS

HANG_GUARD = 5.0
# What a client sees when the connection ends without a close frame (RFC 6455 7.1.5).
ABNORMAL_CLOSURE = 1006


@dataclass(frozen=True)
class Closed:
    code: int
    reason: str


class RawSocket:
    def __init__(self, socket: ClientConnection):
        self.socket = socket
        self.received: list[dict] = []

    async def send(self, message: object) -> None:
        """Any JSON value, as a text frame (the standard library's encoder: orjson
        refuses integers beyond 64 bits, which a client may well send)."""
        await self.socket.send(json.dumps(message))

    async def send_raw(self, frame: str | bytes) -> None:
        """Exactly this frame: text for a str, binary for bytes."""
        await self.socket.send(frame)

    async def init(self, token: str | None) -> None:
        payload = {"authorization": f"Bearer {token}"} if token else {}
        await self.send({"type": "connection_init", "payload": payload})

    async def acknowledged(self, token: str) -> None:
        """connection_init, then the connection_ack the server must answer with."""
        await self.init(token)
        ack = await self.receive()
        assert ack["type"] == "connection_ack", ack

    async def subscribe(self, operation_id: str, document: str, variables: dict | None = None,
                        operation_name: str | None = None) -> None:
        payload: dict[str, object] = {"query": document, "variables": variables or {}}
        if operation_name is not None:
            payload["operationName"] = operation_name
        await self.send({"id": operation_id, "type": "subscribe", "payload": payload})

    async def receive(self) -> dict:
        message = orjson.loads(await asyncio.wait_for(self.socket.recv(), HANG_GUARD))
        self.received.append(message)
        return message

    async def wait_for(self, predicate: Callable[[dict], bool]) -> dict:
        """The next received frame matching `predicate` (the others are kept too)."""
        while True:
            message = await self.receive()
            if predicate(message):
                return message

    async def pong(self) -> dict:
        """A ping, and the pong that must answer it: the socket is open and served."""
        await self.send({"type": "ping"})
        return await self.wait_for(lambda message: message["type"] == "pong")

    async def stop(self, operation_id: str) -> None:
        """`complete` for a running operation, then a ping answered: the server has
        handled the complete (frames are handled in order), so closing the socket
        afterwards races with no frame of that operation."""
        await self.send({"id": operation_id, "type": "complete"})
        await self.pong()

    async def closed(self) -> Closed:
        """Read until the server closes the socket: the code and reason of its close
        frame, ABNORMAL_CLOSURE when the connection ended without one."""
        try:
            while True:
                await self.receive()
        except ConnectionClosed as closed:
            if closed.rcvd is None:
                return Closed(ABNORMAL_CLOSURE, "")
            return Closed(closed.rcvd.code, closed.rcvd.reason)

    def for_operation(self, operation_id: str) -> list[dict]:
        return [message for message in self.received if message.get("id") == operation_id]


@asynccontextmanager
async def raw_socket(url: str, subprotocols: Sequence[Subprotocol] = (TRANSPORT_WS,),
                     origin: str | None = None) -> AsyncIterator[RawSocket]:
    """A WebSocket to `url` offering `subprotocols`, sending `origin` as a browser does."""
    async with connect(url, subprotocols=list(subprotocols), origin=Origin(origin) if origin else None,
                       open_timeout=HANG_GUARD, close_timeout=1, ping_interval=None) as socket:
        yield RawSocket(socket)
