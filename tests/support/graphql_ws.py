"""A small graphql-transport-ws client (the `websockets` library) that records what it
receives and when; for servers in other processes and for close codes."""
from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

TRANSPORT_WS = Subprotocol("graphql-transport-ws")
LEGACY_WS = Subprotocol("graphql-ws")  # the legacy protocol, which the server refuses


class SocketClosed(Exception):
    pass


@dataclass
class Received:
    payload: dict
    at: float  # time.time() on receipt


class Stream:
    """One subscription on a GraphQLSocket: what it received, and how it ended."""

    def __init__(self, socket_: GraphQLSocket, id_: str) -> None:
        self.socket = socket_
        self.id = id_
        self.items: list[Received] = []
        self.errors: list[Any] = []
        self.completed = False

    @property
    def data(self) -> list[dict | None]:
        return [item.payload.get("data") for item in self.items]

    async def wait_for(self, predicate: Callable[[dict], bool], timeout: float = 10) -> dict:
        """The first received `data` matching `predicate`, waiting up to `timeout`."""
        async def find() -> dict:
            checked = 0
            while True:
                for item in self.items[checked:]:
                    payload = item.payload.get("data")
                    if payload is not None and predicate(payload):
                        return payload
                checked = len(self.items)
                if self.errors:
                    raise AssertionError(f"subscription {self.id} failed: {self.errors}")
                if self.completed or self.socket.closed.is_set():
                    raise SocketClosed(f"subscription {self.id} ended without a match; got {self.data}")
                await self.socket.wait_change()
        return await asyncio.wait_for(find(), timeout)

    async def wait_count(self, predicate: Callable[[dict], bool], count: int, timeout: float = 10) -> list[dict]:
        """Wait until `count` received items match `predicate`; returns them."""
        async def enough() -> list[dict]:
            while True:
                matching = [d for d in self.data if d is not None and predicate(d)]
                if len(matching) >= count:
                    return matching
                if self.errors:
                    raise AssertionError(f"subscription {self.id} failed: {self.errors}")
                if self.completed or self.socket.closed.is_set():
                    raise SocketClosed(f"subscription {self.id} ended with {len(matching)}/{count}: {self.data}")
                await self.socket.wait_change()
        try:
            return await asyncio.wait_for(enough(), timeout)
        except TimeoutError:
            matching = [d for d in self.data if d is not None and predicate(d)]
            raise AssertionError(f"only {len(matching)}/{count} items within {timeout}s: {matching}") from None


class GraphQLSocket:
    """A graphql-transport-ws connection (token in `connection_init`) with subscriptions."""

    def __init__(self, url: str, token: str | None) -> None:
        self.url = url
        self.token = token
        self.streams: dict[str, Stream] = {}
        self.closed = asyncio.Event()
        self.close_code: int | None = None
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task | None = None
        self._ids = itertools.count(1)
        self._changed = asyncio.Event()

    async def connect(self, timeout: float = 10) -> GraphQLSocket:
        ws = self._ws = await asyncio.wait_for(
            connect(self.url, subprotocols=[TRANSPORT_WS], open_timeout=timeout, close_timeout=2,
                    max_size=2**22, ping_interval=None), timeout)
        init = {"authorization": f"Bearer {self.token}"} if self.token else {}
        await ws.send(json.dumps({"type": "connection_init", "payload": init}))
        ack = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if ack.get("type") != "connection_ack":
            raise AssertionError(f"expected connection_ack, got {ack}")
        self._reader = asyncio.create_task(self._read(ws))
        return self

    async def subscribe(self, query: str, variables: dict | None = None) -> Stream:
        assert self._ws is not None, "connect() first"
        id_ = str(next(self._ids))
        stream = self.streams[id_] = Stream(self, id_)
        await self._ws.send(json.dumps({"id": id_, "type": "subscribe",
                                        "payload": {"query": query, "variables": variables or {}}}))
        return stream

    async def wait_change(self) -> None:
        self._changed.clear()
        await self._changed.wait()

    def _notify(self) -> None:
        self._changed.set()

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                message = json.loads(raw)
                kind, stream = message.get("type"), self.streams.get(message.get("id", ""))
                if kind == "ping":
                    await ws.send(json.dumps({"type": "pong"}))
                elif kind == "next" and stream is not None:
                    stream.items.append(Received(message["payload"], time.time()))
                elif kind == "error" and stream is not None:
                    stream.errors.append(message.get("payload"))
                elif kind == "complete" and stream is not None:
                    stream.completed = True
                self._notify()
        except ConnectionClosed:
            pass
        finally:
            self.close_code = ws.close_code
            self.closed.set()
            self._notify()

    async def close(self) -> None:
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.close(), 5)
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(BaseException):
                await self._reader


@contextlib.asynccontextmanager
async def ws_client(url: str, token: str | None) -> AsyncIterator[GraphQLSocket]:
    client = await GraphQLSocket(url, token).connect()
    try:
        yield client
    finally:
        await client.close()
