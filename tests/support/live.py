"""A real server on a free port (uvicorn, in the test's event loop) and real
graphql-transport-ws clients (the `gql` package) for end-to-end realtime tests."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass

import httpx
import uvicorn
from gql import Client
from gql import gql as parse
from gql.client import AsyncClientSession
from gql.transport.websockets import WebsocketsTransport

from models import Account
from server.app import create_app
from server.settings import Settings
from tests.support.documents import operation
from tests.support.ports import free_port
from tests.support.webhook import inbound


async def start_cursor() -> str:
    """A cursor at the log's current end: subscribing with it as `after` receives every
    later event, however long the subscription takes to reach the server (no sleeps)."""
    from schema.events import event_cursor
    from subscriptions.log import latest_seq

    return event_cursor(await latest_seq())


@dataclass
class LiveServer:
    http_url: str
    ws_url: str
    server: uvicorn.Server

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.http_url, timeout=10)


@asynccontextmanager
async def running_server(settings: Settings, port: int | None = None) -> AsyncIterator[LiveServer]:
    """`port`: one the caller picked already (free_port()), for settings that name the
    server's own URL (public_url, the base of providers' callback URLs)."""
    port = port or free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, ws="websockets-sansio", lifespan="on", log_level="warning"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(500):  # uvicorn sets `started` without an event to await: up to 5 s
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    if not server.started:
        task.result() if task.done() else task.cancel()
        raise RuntimeError("the test server did not start")
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/graphql", server)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


def ws_transport(server: LiveServer, token: str | None) -> WebsocketsTransport:
    return WebsocketsTransport(
        url=server.ws_url,
        init_payload={"authorization": f"Bearer {token}"} if token else {},
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],  # graphql-transport-ws
        connect_timeout=5, ack_timeout=5, close_timeout=2,
    )


@asynccontextmanager
async def ws_session(server: LiveServer, token: str | None) -> AsyncIterator[AsyncClientSession]:
    client = Client(transport=ws_transport(server, token), fetch_schema_from_transport=False)
    async with client as session:
        yield session


class EventCollector:
    """Runs a subscription in the background and collects what it yields."""

    def __init__(self, session: AsyncClientSession, document: str, variables: dict | None = None):
        self.items: list[dict] = []
        self._new = asyncio.Condition()
        self._task = asyncio.create_task(self._run(session, document, variables or {}))

    async def _run(self, session: AsyncClientSession, document: str, variables: dict) -> None:
        request = parse(document)
        request.variable_values = variables
        async for result in session.subscribe(request):
            async with self._new:
                self.items.append(result)
                self._new.notify_all()

    async def wait_for(self, predicate: Callable[[dict], bool], timeout: float = 5.0) -> dict:
        """The first collected item matching `predicate`, waiting up to `timeout`."""
        async def find() -> dict:
            async with self._new:
                while True:
                    for item in self.items:
                        if predicate(item):
                            return item
                    if self._task.done():
                        self._task.result()
                        raise AssertionError(f"subscription ended without a match; got {self.items}")
                    await self._new.wait()
        return await asyncio.wait_for(find(), timeout)

    async def stop(self) -> None:
        self._task.cancel()
        with suppress(asyncio.CancelledError, Exception):
            await self._task


async def watch_conversation(session: AsyncClientSession, conversation_id: str) -> EventCollector:
    """conversationEvents from the log's current end (see `start_cursor`)."""
    return EventCollector(session, operation("ConversationEvents"),
                          {"conversationId": conversation_id, "after": await start_cursor()})


async def warm_up(http: httpx.AsyncClient, account: Account, phone: str, *streams: EventCollector) -> None:
    """Typing events are live-only: one signalled before a subscription is registered on
    the server is never replayed, so `after` cannot cover it. A warm-up message from the
    customer reaching every stream proves they are registered; it is then forgotten."""
    message_id = (await inbound(http, account, phone, "Warm-up"))["messageId"]

    def is_warm_up(item: dict) -> bool:
        payload = next(iter(item.values()))
        return (payload.get("message") or {}).get("id") == message_id

    for stream in streams:
        await stream.wait_for(is_warm_up)
        stream.items.clear()
