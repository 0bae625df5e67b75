"""The provider emulator: `python -m bench.delivery.emulator --port P --secret S`.

A minimal HTTP/1.1 server on the loopback that speaks the WEBHOOK provider's protocol
(providers/webhook.py) and nothing else: every POST carries a signed JSON reply
`{"id": <our message id>, "to", "from", "body", "statusUrl"}` and is answered
`200 {"id": "<uuid>"}`, the bridge's id. It records, per message id, when the request
arrived (CLOCK_MONOTONIC, system-wide on Linux, so the benchmark compares it with its own
clock), how often each id came (a reply sent twice would show), and how many bodies were
not signed with the channel's secret. It posts no delivery reports: the benchmark stops
at SENT.

Raw asyncio protocol on uvloop, no framework, so that it is never the slow side:
`GET /healthz` answers 200; `GET /arrivals` answers `{"arrivals": [[id, ns, times], ...], "requests", "bad_signatures",
"unreadable"}` for every id since the previous call and forgets them.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import time
import uuid
from typing import cast

import orjson

HEADER_END = b"\r\n\r\n"


class Ledger:
    def __init__(self, secret: str):
        self.key = secret.encode()
        self.arrivals: dict[object, list[int]] = {}  # id -> [first arrival ns, times]
        self.requests = 0
        self.bad_signatures = 0
        self.unreadable = 0

    def take(self, body: bytes, signature: bytes | None, at_ns: int) -> None:
        self.requests += 1
        expected = b"sha256=" + hmac.new(self.key, body, hashlib.sha256).hexdigest().encode()
        if signature is None or not hmac.compare_digest(expected, signature):
            self.bad_signatures += 1
        try:
            message_id = orjson.loads(body)["id"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            self.unreadable += 1
            return
        seen = self.arrivals.get(message_id)
        if seen is None:
            self.arrivals[message_id] = [at_ns, 1]
        else:
            seen[1] += 1

    def report(self) -> bytes:
        arrivals, self.arrivals = self.arrivals, {}
        return orjson.dumps({"arrivals": [[key, at, times] for key, (at, times) in arrivals.items()],
                             "requests": self.requests, "bad_signatures": self.bad_signatures,
                             "unreadable": self.unreadable})


def response(status: str, body: bytes) -> bytes:
    return (f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            .encode() + body)


class Connection(asyncio.Protocol):
    """One keep-alive connection: requests are parsed as they complete (pipelining works,
    though httpx does not pipeline)."""

    def __init__(self, ledger: Ledger):
        self.ledger = ledger
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        self.arrived_ns = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        if not self.buffer:
            self.arrived_ns = time.monotonic_ns()  # the request's first bytes
        self.buffer += data
        while self.transport is not None and (end := self.buffer.find(HEADER_END)) >= 0:
            head = self.buffer[:end].split(b"\r\n")
            fields = {}
            for line in head[1:]:
                name, _, value = line.partition(b":")
                fields[name.strip().lower()] = value.strip()
            length = int(fields.get(b"content-length", b"0"))
            if len(self.buffer) < end + 4 + length:
                return  # the body is still on its way
            body = self.buffer[end + 4:end + 4 + length]
            self.buffer = self.buffer[end + 4 + length:]
            method, _, rest = head[0].partition(b" ")
            path = rest.partition(b" ")[0]
            if method == b"POST":
                self.ledger.take(body, fields.get(b"x-signature"), self.arrived_ns)
                answer = response("200 OK", b'{"id":"' + str(uuid.uuid4()).encode() + b'"}')
            elif method == b"GET" and path == b"/arrivals":
                answer = response("200 OK", self.ledger.report())
            elif method == b"GET" and path == b"/healthz":
                answer = response("200 OK", b"{}")
            else:
                answer = response("404 Not Found", b'{"message":"not here"}')
            self.transport.write(answer)
            if self.buffer:
                self.arrived_ns = time.monotonic_ns()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


async def serve(port: int, secret: str) -> None:
    ledger = Ledger(secret)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Connection(ledger), "127.0.0.1", port, backlog=1024)
    print(f"listening on 127.0.0.1:{port}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.delivery.emulator")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True, help="the WEBHOOK channel's signing secret")
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(args.port, args.secret))
    else:
        uvloop.run(serve(args.port, args.secret))


if __name__ == "__main__":
    main()
