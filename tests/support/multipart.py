"""Apollo's multipart subscription protocol over HTTP, read as a client must: the POST
with `Accept: multipart/mixed;subscriptionSpec=1.0, application/json`, the boundary
taken from the response's Content-Type, each part's headers and JSON body parsed (RFC
2046), heartbeats (`{}`) kept apart from payloads, and the close delimiter noted.
https://www.apollographql.com/docs/graphos/routing/operations/subscriptions/multipart-protocol"""
from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field

import httpx

MULTIPART_ACCEPT = "multipart/mixed;subscriptionSpec=1.0, application/json"
HANG_GUARD = 10.0


@dataclass(frozen=True)
class Part:
    headers: dict[str, str]  # names lower-cased
    body: dict

    @property
    def is_heartbeat(self) -> bool:
        return self.body == {}


def boundary_of(content_type: str) -> str:
    """The `boundary` parameter of a multipart Content-Type (quotes removed)."""
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.strip().partition("=")
        if name.strip().lower() == "boundary":
            return value.strip().strip('"')
    raise AssertionError(f"no boundary in {content_type!r}")


class PartParser:
    """Incremental: feed bytes as they arrive, take the complete parts.

    RFC 2046 opens the body with the boundary; Strawberry's subscription streams open
    with the first part instead (the text before the first delimiter, a preamble to a
    strict parser). Like Apollo Client's reader, this one takes that text as a part and
    records that the boundary did not come first (`opened_with_boundary`)."""

    def __init__(self, boundary: str):
        # Every delimiter but the first is preceded by CRLF; a CRLF put in front of the
        # body makes the first one alike.
        self.delimiter = b"\r\n--" + boundary.encode()
        self.buffer = b"\r\n"
        self.started = False
        self.opened_with_boundary: bool | None = None
        self.closed = False

    def feed(self, data: bytes) -> list[Part]:
        assert not self.closed, f"bytes after the close delimiter: {data!r}"
        self.buffer += data
        parts: list[Part] = []
        while True:
            if self.started and self.buffer.startswith(b"--"):  # the close delimiter's "--"
                self.closed = True
                assert self.buffer[2:].strip() == b"", f"bytes after the close delimiter: {self.buffer!r}"
                return parts
            at = self.buffer.find(self.delimiter)
            if at < 0:
                return parts
            segment, self.buffer = self.buffer[:at], self.buffer[at + len(self.delimiter):]
            if not self.started:
                self.started = True
                self.opened_with_boundary = segment == b""
                segment = segment[2:]  # without the CRLF put in front
            part = _part(segment)
            if part is not None:
                parts.append(part)


def _part(segment: bytes) -> Part | None:
    """A body part: CRLF (the end of the delimiter line), headers, a blank line, the
    body. An empty segment (the close delimiter right after the last part's delimiter
    line) holds no part."""
    if segment.strip() == b"":
        return None
    assert segment.startswith(b"\r\n"), f"a delimiter line not ended by CRLF: {segment!r}"
    head, separator, body = segment[2:].partition(b"\r\n\r\n")
    assert separator, f"a part without a blank line after its headers: {segment!r}"
    headers: dict[str, str] = {}
    for line in head.decode().split("\r\n"):
        name, colon, value = line.partition(":")
        assert colon, f"not a header line: {line!r}"
        headers[name.strip().lower()] = value.strip()
    assert headers.get("content-type", "").split(";")[0].strip() == "application/json", headers
    if "content-length" in headers:
        assert int(headers["content-length"]) == len(body), (headers, body)
    parsed = json.loads(body)
    assert isinstance(parsed, dict), parsed
    return Part(headers, parsed)


@dataclass
class MultipartSubscription:
    response: httpx.Response
    parts: list[Part] = field(default_factory=list)
    ended: bool = False  # the close delimiter arrived
    opened_with_boundary: bool | None = None  # RFC 2046: the body starts with the boundary
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _task: asyncio.Task | None = None

    @property
    def payloads(self) -> list[dict]:
        """The bodies that are not heartbeats."""
        return [part.body for part in self.parts if not part.is_heartbeat]

    @property
    def data(self) -> list[dict]:
        """`payload.data` of each payload part that has data."""
        return [body["payload"]["data"] for body in self.payloads if (body.get("payload") or {}).get("data")]

    async def _read(self) -> None:
        parser = PartParser(boundary_of(self.response.headers["content-type"]))
        try:
            async for chunk in self.response.aiter_bytes():
                parts = parser.feed(chunk)
                async with self._changed:
                    self.parts.extend(parts)
                    self.ended = parser.closed
                    self.opened_with_boundary = parser.opened_with_boundary
                    self._changed.notify_all()
        finally:
            async with self._changed:
                self.ended = self.ended or parser.closed
                self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[Part], bool], timeout: float = HANG_GUARD) -> Part:
        """The first part received matching `predicate`, waiting up to `timeout`."""
        async def find() -> Part:
            async with self._changed:
                while True:
                    for part in self.parts:
                        if predicate(part):
                            return part
                    if self._task is not None and self._task.done():
                        self._task.result()  # the reader's failure, if it failed
                        raise AssertionError(f"the stream ended without a match; got {self.parts}")
                    await self._changed.wait()
        return await asyncio.wait_for(find(), timeout)

    async def wait_for_data(self, predicate: Callable[[dict], bool], timeout: float = HANG_GUARD) -> dict:
        part = await self.wait_for(
            lambda part: bool((part.body.get("payload") or {}).get("data")) and predicate(part.body["payload"]["data"]),
            timeout,
        )
        return part.body["payload"]["data"]

    async def wait_end(self, timeout: float = HANG_GUARD) -> None:
        """Until the server ends the stream (the reader finishes: close delimiter, then EOF)."""
        assert self._task is not None
        await asyncio.wait_for(asyncio.shield(self._task), timeout)


def multipart_request(query: str, variables: dict | None = None, token: str | None = None,
                      accept: str = MULTIPART_ACCEPT, operation_name: str | None = None) -> tuple[dict, dict]:
    body: dict[str, object] = {"query": query, "variables": variables or {}}
    if operation_name is not None:
        body["operationName"] = operation_name
    headers = {"accept": accept, "content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    return body, headers


@asynccontextmanager
async def multipart_subscription(http: httpx.AsyncClient, query: str, variables: dict | None = None,
                                 token: str | None = None) -> AsyncIterator[MultipartSubscription]:
    """POST /graphql asking for a multipart stream; its parts are read in the background.
    The response must be a 200 multipart/mixed stream."""
    body, headers = multipart_request(query, variables, token)
    async with http.stream("POST", "/graphql", json=body, headers=headers) as response:
        if response.status_code != 200 or not response.headers.get("content-type", "").startswith("multipart/mixed"):
            await response.aread()
            raise AssertionError(f"not a multipart stream: {response.status_code} {response.headers} {response.text}")
        subscription = MultipartSubscription(response)
        subscription._task = asyncio.create_task(subscription._read())
        try:
            yield subscription
        finally:
            subscription._task.cancel()
            with suppress(asyncio.CancelledError, httpx.HTTPError):
                await subscription._task
