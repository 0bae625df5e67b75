"""A minimal keep-alive HTTP/1.1 POST client for the publisher: the send timestamp is
taken right before the request bytes hit the socket, without an HTTP library's own
per-request overhead (which would count, equally, in both targets' latency)."""
from __future__ import annotations

import asyncio


class ClosedByServer(ConnectionError):
    """The server had closed the connection before answering."""


class RawHTTP:
    def __init__(self, host: str, port: int, timeout: float = 30.0):
        self.host, self.port, self.timeout = host, port, timeout
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> RawHTTP:
        self.reader, self.writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), self.timeout)
        return self

    async def __aexit__(self, *exc) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await asyncio.wait_for(self.writer.wait_closed(), 5)
            except (TimeoutError, OSError):
                pass

    async def post(self, path: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        head = [f"POST {path} HTTP/1.1", f"Host: {self.host}:{self.port}", "Content-Type: application/json",
                f"Content-Length: {len(body)}"]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        request = ("\r\n".join(head) + "\r\n\r\n").encode() + body
        try:
            return await asyncio.wait_for(self._exchange(request), self.timeout)
        except ClosedByServer:
            # uvicorn closes a keep-alive connection idle for 5 s (both targets alike): the
            # request met a closed socket and was not read. Once more, on a new connection.
            await self.__aexit__()
            await self.__aenter__()
            return await asyncio.wait_for(self._exchange(request), self.timeout)

    async def _exchange(self, request: bytes) -> tuple[int, bytes]:
        if self.reader is None or self.writer is None:
            raise RuntimeError("RawHTTP is used outside `async with`")
        self.writer.write(request)
        status_line = await self.reader.readline()
        if not status_line:
            raise ClosedByServer
        status = int(status_line.split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)
