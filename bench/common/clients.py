"""Load-generator worker: `python -m bench.common.clients` (started by bench.fanout and
bench.realtime through bench/common/workers.py).

Reads one JSON config line on stdin, opens `clients` graphql-transport-ws connections
(websockets' sans-I/O protocol on raw asyncio transports: no task per socket, and the
receipt time is taken in `data_received`, before any decoding), then writes JSON lines:

    {"ready": n}                      every client got connection_ack and subscribed
    {"all": i, "at_ns": t}            `per_message` clients of this worker (default: all of
                                      them) have received message i, the last one at t
    {"typing": b, "at_ns": t}         a TypingChanged(isTyping=b) arrived at t (only with
                                      "report_typing": true in the config)
    {"count": n}                      answer to "count" on stdin: measured receipts so far
    {"result": {...}}                 after "stop" on stdin (or EOF, or the deadline)

Optional config keys: "subscribes" (a list of subscribe payloads: client k uses entry
k % len, instead of the one "subscribe"), "per_message", "report_typing", "connect_attempts".

Message bodies look like `bench|<tag>|<i>|<monotonic_ns at send>`; i < 0 is a warm-up.
CLOCK_MONOTONIC is system-wide on Linux, so the sender's and receivers' clocks agree.
"""
from __future__ import annotations

import asyncio
import sys
import time

import orjson
from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import enable_client_permessage_deflate
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

CONNECT_CONCURRENCY = 64


def emit(obj: dict) -> None:
    sys.stdout.write(orjson.dumps(obj).decode() + "\n")
    sys.stdout.flush()


class Worker:
    """Counts receipts per message across this worker's clients."""

    def __init__(self, n: int, tag: str, per_message: int | None = None, report_typing: bool = False):
        self.n = per_message or n
        self.report_typing = report_typing
        self.prefix = f"bench|{tag}|"
        self.counts: dict[int, int] = {}
        self.latencies: list[int] = []  # ns, measured messages only
        self.max_ns: dict[int, int] = {}  # per measured message: the slowest client
        self.frame_bytes = 0
        self.errors: list[str] = []

    def received(self, body: str, at_ns: int, size: int) -> None:
        if not body.startswith(self.prefix):
            return
        _, _, index, sent = body.split("|")
        i = int(index)
        if i >= 0:
            latency = at_ns - int(sent)
            self.latencies.append(latency)
            if latency > self.max_ns.get(i, 0):
                self.max_ns[i] = latency
            self.frame_bytes = size
        count = self.counts.get(i, 0) + 1
        self.counts[i] = count
        if count == self.n:
            emit({"all": i, "at_ns": at_ns})

    def next(self, data: dict, at_ns: int, size: int) -> None:
        """One subscription result (`payload.data`) that arrived at `at_ns`."""
        for value in data.values():
            if not value:
                continue
            kind = value.get("__typename")
            if kind == "MessageAdded":
                self.received(value["message"]["body"], at_ns, size)
            elif kind == "TypingChanged" and self.report_typing:
                emit({"typing": value.get("isTyping"), "at_ns": at_ns})
            elif kind == "ResyncRequired":
                self.error(f"ResyncRequired: {value.get('reason')}")

    def error(self, text: str) -> None:
        if len(self.errors) < 20:
            self.errors.append(text[:300])


class Client(asyncio.Protocol):
    def __init__(self, worker: Worker, url: str, token: str, subscribe: bytes, deflate: bool):
        self.worker = worker
        self.token = token
        self.subscribe = subscribe
        self.ws = ClientProtocol(
            parse_uri(url),
            subprotocols=[Subprotocol("graphql-transport-ws")],
            extensions=enable_client_permessage_deflate(None) if deflate else None,
            max_size=2**20,
        )
        self.transport: asyncio.Transport | None = None
        self.ready = asyncio.get_running_loop().create_future()
        self.closed = asyncio.get_running_loop().create_future()
        self.fragments: list[bytes | bytearray | memoryview] = []
        self.closing = False

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.ws.send_request(self.ws.connect())
        self.flush()

    def flush(self) -> None:
        data = self.ws.data_to_send()
        if data and self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"".join(data))

    def data_received(self, data: bytes) -> None:
        at_ns = time.monotonic_ns()
        self.ws.receive_data(data)
        for event in self.ws.events_received():
            if isinstance(event, Response):
                if self.ws.handshake_exc is not None:
                    self._fail(f"handshake: {self.ws.handshake_exc!r}")
                else:
                    self.ws.send_text(orjson.dumps({"type": "connection_init",
                                                    "payload": {"authorization": f"Bearer {self.token}"}}))
            elif not isinstance(event, Frame):  # a client receives no handshake request
                continue
            elif event.opcode in (Opcode.TEXT, Opcode.CONT):
                self.fragments.append(event.data)
                if event.fin:
                    frame = b"".join(self.fragments)
                    self.fragments.clear()
                    self._message(frame, at_ns)
            elif event.opcode == Opcode.CLOSE:
                self._fail(f"closed by server: {self.ws.close_code} {self.ws.close_reason}")
        self.flush()

    def _message(self, frame: bytes, at_ns: int) -> None:
        message = orjson.loads(frame)
        kind = message.get("type")
        if kind == "next":
            payload = message.get("payload") or {}
            if payload.get("errors"):
                self.worker.error(f"next with errors: {payload['errors']}")
                return
            self.worker.next(payload.get("data") or {}, at_ns, len(frame))
        elif kind == "connection_ack":
            self.ws.send_text(self.subscribe)
            if not self.ready.done():
                self.ready.set_result(None)
        elif kind == "ping":
            self.ws.send_text(b'{"type":"pong"}')
        elif kind in ("error", "complete"):
            self.worker.error(f"{kind}: {frame[:200]!r}")

    def _fail(self, reason: str) -> None:
        if self.closing:
            return
        self.worker.error(reason)
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(reason))

    def connection_lost(self, exc) -> None:
        self._fail(f"connection lost: {exc!r}")
        if not self.closed.done():
            self.closed.set_result(None)

    def close(self) -> None:
        self.closing = True
        if self.transport is None or self.transport.is_closing():
            return
        try:
            self.ws.send_close(1000)
            self.flush()
        except Exception:
            self.transport.abort()


async def open_client(worker: Worker, config: dict, token: str, payload: dict, gate: asyncio.Semaphore) -> Client:
    """Connect, init and subscribe; `connect_attempts` (default 1) tries on a busy machine."""
    loop = asyncio.get_running_loop()
    subscribe = orjson.dumps({"id": "1", "type": "subscribe", "payload": payload})
    attempts = config.get("connect_attempts", 1)
    for attempt in range(1, attempts + 1):
        client = None
        try:
            async with gate:
                _, client = await asyncio.wait_for(loop.create_connection(
                    lambda: Client(worker, config["url"], token, subscribe, config["deflate"]),
                    config["host"], config["port"]), 30)
                await asyncio.wait_for(client.ready, 30)
            return client
        except (TimeoutError, OSError, ConnectionError):
            if client is not None:
                client.closing = True
                if client.transport is not None:
                    client.transport.abort()
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")


async def main() -> None:
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader(limit=2**24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    config = orjson.loads(await asyncio.wait_for(stdin.readline(), 30))
    tokens, n = config["tokens"], config["clients"]
    worker = Worker(n, config["tag"], config.get("per_message"), config.get("report_typing", False))
    payloads = config.get("subscribes") or [config["subscribe"]]
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    results = await asyncio.gather(
        *(open_client(worker, config, tokens[k % len(tokens)], payloads[k % len(payloads)], gate)
          for k in range(n)), return_exceptions=True)
    clients = [c for c in results if isinstance(c, Client)]
    for failure in (r for r in results if not isinstance(r, Client)):
        worker.error(f"connect: {failure!r}")
    emit({"ready": len(clients), "errors": worker.errors[:3]})
    deadline = loop.time() + config["deadline_seconds"]
    try:  # answer "count" until "stop", EOF (the parent went away) or the deadline
        while (await asyncio.wait_for(stdin.readline(), max(0.0, deadline - loop.time()))) == b"count\n":
            emit({"count": len(worker.latencies)})
    except TimeoutError:
        worker.error("worker deadline reached")
    emit({"result": {"latencies_ns": worker.latencies, "frame_bytes": worker.frame_bytes,
                     "max_ns": {str(i): v for i, v in worker.max_ns.items()},
                     "errors": worker.errors, "connected": len(clients)}})
    for client in clients:
        client.close()
    pending = [c.closed for c in clients if not c.closed.done()]
    if pending:
        await asyncio.wait(pending, timeout=5)
    for client in clients:
        if client.transport is not None:
            client.transport.abort()


if __name__ == "__main__":
    try:
        import uvloop
        uvloop.run(main())
    except ImportError:
        asyncio.run(main())
