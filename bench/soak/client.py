"""A lean graphql-transport-ws subscriber for bench.soak: keeps only what the
verification needs (each event's seq and its receipt time), not the payloads, so 200
clients over a minute stay small."""
from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from array import array

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol


def cursor_seq(cursor: str) -> int:
    return orjson.loads(base64.urlsafe_b64decode(cursor))[0]


class SoakClient:
    def __init__(self, index: int, url: str, token: str, query: str, variables: dict) -> None:
        self.index = index
        self.url = url
        self._token = token
        self._query = query
        self._variables = variables
        self.seqs = array("q")  # seq of every stored event received, in arrival order
        self.received_at = array("d")  # time.time() at receipt, same index as seqs
        self.typing = 0
        self.counts = 0
        self.resyncs = 0
        self.errors: list[object] = []
        self.close_code: int | None = None
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task | None = None

    async def start(self, timeout: float = 20) -> None:
        self._ws = ws = await asyncio.wait_for(
            connect(self.url, subprotocols=[Subprotocol("graphql-transport-ws")], open_timeout=timeout,
                    ping_interval=None, close_timeout=2, max_size=2**22, compression=None), timeout)
        await ws.send(orjson.dumps({"type": "connection_init",
                                    "payload": {"authorization": f"Bearer {self._token}"}}).decode())
        ack = orjson.loads(await asyncio.wait_for(ws.recv(), timeout))
        if ack.get("type") != "connection_ack":
            raise RuntimeError(f"client {self.index}: expected connection_ack, got {ack}")
        await ws.send(orjson.dumps({"id": "1", "type": "subscribe", "payload": {
            "query": self._query, "variables": self._variables}}).decode())
        self._reader = asyncio.create_task(self._read(ws))

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                at = time.time()
                message = orjson.loads(raw)
                kind = message.get("type")
                if kind == "next":
                    payload = message["payload"]
                    if payload.get("errors"):
                        self.errors.append(payload["errors"])
                    event = (payload.get("data") or {}).get("inboxEvents") or {}
                    cursor = event.get("cursor")
                    if cursor:
                        self.seqs.append(cursor_seq(cursor))
                        self.received_at.append(at)
                    elif event.get("__typename") == "TypingChanged":
                        self.typing += 1
                    elif event.get("__typename") == "InboxCountsChanged":
                        self.counts += 1
                    elif event.get("__typename") == "ResyncRequired":
                        self.resyncs += 1
                elif kind == "ping":
                    await ws.send('{"type":"pong"}')
                elif kind in ("error", "complete"):
                    self.errors.append(message)
        except ConnectionClosed:
            pass
        finally:
            self.close_code = ws.close_code

    @property
    def open(self) -> bool:
        return self._reader is not None and not self._reader.done()

    async def close(self) -> None:
        """Close the socket (the reader then ends), and stop the reader if it has not."""
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.close(), 5)
        if self._reader is not None and not self._reader.done():
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
