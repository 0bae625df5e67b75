"""What every provider emulator shares: a real HTTP server on the loopback (Starlette on
uvicorn, in the test's event loop), a record of every request it received, a scripted
queue of behaviours (accept when the queue is empty), and the callbacks it builds.

Behaviours: `Accept`, `Reject` (the provider's 4xx with a code), `TooManyRequests` and
`Unavailable` (429 / 503, with Retry-After), `ServerError` (500), `Hang` (no answer
until the emulator stops: past any client timeout), `Reset` (the request is read, then
the connection is reset). Overload and network behaviours act before the provider
checks anything; `Accept` and `Reject` after it checked the credentials and the request.
"""
from __future__ import annotations

import asyncio
import socket
import struct
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import httpx
import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from providers.base import CallbackRequest
from tests.support.ports import free_port


@dataclass(frozen=True)
class Accept:
    pass


@dataclass(frozen=True)
class Reject:
    code: str | int
    message: str | None = None
    status: int = 400


@dataclass(frozen=True)
class TooManyRequests:
    retry_after: str | None = "2"


@dataclass(frozen=True)
class Unavailable:
    retry_after: str | None = "3"


@dataclass(frozen=True)
class ServerError:
    status: int = 500


@dataclass(frozen=True)
class Hang:
    pass


@dataclass(frozen=True)
class Reset:
    pass


Behaviour = Accept | Reject | TooManyRequests | Unavailable | ServerError | Hang | Reset


@dataclass(frozen=True)
class Recorded:
    """A request as the emulator received it (header names lower-case)."""
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass(frozen=True)
class Callback:
    """A request the provider would make to us: POST `body` to `url` with `headers`."""
    url: str
    headers: dict[str, str]
    body: bytes

    def request(self) -> CallbackRequest:
        """As our server hands it to the provider layer."""
        return CallbackRequest(url=self.url, headers={name.lower(): value for name, value in self.headers.items()},
                               body=self.body)

    async def post(self, http: httpx.AsyncClient) -> httpx.Response:
        return await http.post(self.url, content=self.body, headers=self.headers)


class Emulator:
    """A provider's API; subclasses add its routes and answers."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._script: deque[Behaviour] = deque()
        self._released = asyncio.Event()
        self.url = ""

    def script(self, *behaviours: Behaviour) -> None:
        """Answer the next requests so, in order; then accept."""
        self._script.extend(behaviours)

    def app(self) -> Starlette:
        raise NotImplementedError

    async def record(self, request: Request) -> Recorded:
        recorded = Recorded(request.method, request.url.path, request.url.query,
                            {name.lower(): value for name, value in request.headers.items()}, await request.body())
        self.requests.append(recorded)
        return recorded

    def next_behaviour(self) -> Behaviour:
        return self._script.popleft() if self._script else Accept()

    async def disrupt(self, request: Request, behaviour: Behaviour) -> Response | None:
        """The answer to an overload or network behaviour, None for Accept and Reject."""
        if isinstance(behaviour, Hang):
            await self._released.wait()
            return Response(status_code=504)
        if isinstance(behaviour, Reset):
            _reset_connection(request)
            return Response(status_code=500)  # never reaches the client: its connection is gone
        if isinstance(behaviour, TooManyRequests):
            return self.overloaded(429, behaviour.retry_after)
        if isinstance(behaviour, Unavailable):
            return self.overloaded(503, behaviour.retry_after)
        if isinstance(behaviour, ServerError):
            return self.overloaded(behaviour.status, None)
        return None

    def overloaded(self, status: int, retry_after: str | None) -> Response:
        raise NotImplementedError

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Emulator]:
        port = free_port()
        config = uvicorn.Config(self.app(), host="127.0.0.1", port=port, http="h11", lifespan="off",
                                log_level="warning")
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        for _ in range(500):  # uvicorn sets `started` without an event to await: up to 5 s
            if server.started or task.done():
                break
            await asyncio.sleep(0.01)
        if not server.started:
            task.result() if task.done() else task.cancel()
            raise RuntimeError("the emulator did not start")
        self.url = f"http://127.0.0.1:{port}"
        try:
            yield self
        finally:
            self._released.set()  # hanging requests answer, so the server can stop
            server.should_exit = True
            await asyncio.wait_for(task, 10)


def _reset_connection(request: Request) -> None:
    """Reset the TCP connection (RST, not FIN) after the request was read. uvicorn hands
    the app its request cycle's `receive`, whose cycle holds the transport."""
    cycle = getattr(request.receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    assert isinstance(transport, asyncio.Transport), "uvicorn's request cycle no longer exposes its transport"
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close at once: RST
    transport.abort()
