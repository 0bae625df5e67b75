"""WebSocket authentication end to end: the token in `connection_init`, close code 4403,
the legacy protocol refused, and access ending (deactivation, logout) while connected.

These tests speak graphql-transport-ws with the `websockets` library directly, so
they can see close codes and prove that nothing was streamed before the close."""
from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager, suppress

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from tests.support.documents import operation
from tests.support.graphql_ws import LEGACY_WS, TRANSPORT_WS
from tests.support.http import data, gql
from tests.support.live import running_server, start_cursor
from tests.support.teams import login, make_team
from tests.support.webhook import inbound

INBOX_EVENTS = operation("InboxEvents")
UPDATE_USER = operation("UpdateUser")
LOGOUT = operation("Logout")
SET_TYPING = operation("SetTyping")
THREAD = operation("ConversationThread")
FORBIDDEN = 4403
HANG_GUARD = 5.0


class RawClient:
    """graphql-transport-ws by hand: every frame received is kept in `received`."""

    def __init__(self, socket: ClientConnection):
        self.socket = socket
        self.received: list[dict] = []

    async def send(self, message: dict) -> None:
        await self.socket.send(orjson.dumps(message).decode())

    async def init(self, token: str | None) -> None:
        await self.send({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"} if token else {}})

    async def subscribe(self, operation_id: str, document: str, variables: dict | None = None) -> None:
        await self.send({"id": operation_id, "type": "subscribe",
                         "payload": {"query": document, "variables": variables or {}}})

    async def receive(self) -> dict:
        message = orjson.loads(await asyncio.wait_for(self.socket.recv(), HANG_GUARD))
        self.received.append(message)
        return message

    async def wait_for(self, predicate) -> dict:
        while True:
            message = await self.receive()
            if predicate(message):
                return message

    async def close_code(self) -> int | None:
        """Read until the server closes the socket; the close code it sent."""
        try:
            while True:
                await self.receive()
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None

    def nexts(self) -> list[dict]:
        return [message for message in self.received if message["type"] == "next"]


@asynccontextmanager
async def raw_client(server, subprotocols: tuple[Subprotocol, ...] = (TRANSPORT_WS,)):
    async with connect(server.ws_url, subprotocols=list(subprotocols), open_timeout=HANG_GUARD,
                       close_timeout=1) as socket:
        yield RawClient(socket)


@asynccontextmanager
async def acked(server, token: str):
    """A connection that the server accepted (connection_ack received)."""
    async with raw_client(server) as client:
        await client.init(token)
        ack = await client.receive()
        assert ack["type"] == "connection_ack", ack
        yield client


def is_event(operation_id: str, typename: str, conversation_id: str | None = None):
    def matches(message: dict) -> bool:
        if message.get("id") != operation_id or message["type"] != "next":
            return False
        event = (message["payload"].get("data") or {}).get("inboxEvents") or {}
        if event.get("__typename") != typename:
            return False
        return conversation_id is None or (event.get("conversation") or {}).get("id") == conversation_id
    return matches


async def refused_with(server, token: str | None) -> tuple[int | None, list[dict]]:
    """connection_init with `token` immediately followed by a subscription; the close
    code and every frame the server sent before closing."""
    async with raw_client(server) as client:
        await client.init(token)
        with suppress(ConnectionClosed):  # the server may have closed already
            await client.subscribe("1", INBOX_EVENTS, {"after": await start_cursor()})
        code = await client.close_code()
        return code, client.received


async def test_connection_without_a_token_is_closed_with_4403(settings):
    async with running_server(settings) as server, server.http() as http:
        # given
        team = await make_team(http)
        await inbound(http, team.account, "+14155550101", "Before")

        # when
        code, received = await refused_with(server, None)

        # then
        assert code == FORBIDDEN
        assert received == []


async def test_connection_with_an_unknown_token_is_closed_with_4403(settings):
    async with running_server(settings) as server, server.http() as http:
        # given
        await make_team(http)

        # when
        code, received = await refused_with(server, "not-a-real-token")

        # then
        assert code == FORBIDDEN
        assert received == []


async def test_connection_with_a_logged_out_token_is_closed_with_4403(settings):
    async with running_server(settings) as server, server.http() as http:
        # given
        team = await make_team(http)
        token = await login(http, team["bob"].user.email)
        assert data(await gql(http, LOGOUT, token=token))["logout"]["revoked"] is True

        # when
        code, received = await refused_with(server, token)

        # then
        assert code == FORBIDDEN
        assert received == []


async def test_legacy_graphql_ws_protocol_is_refused(settings):
    async with running_server(settings) as server, server.http() as http:
        # given
        team = await make_team(http)

        # when
        async with raw_client(server, subprotocols=(LEGACY_WS,)) as client:
            negotiated = client.socket.subprotocol
            with suppress(ConnectionClosed):  # the legacy protocol's own handshake message
                await client.send({"type": "connection_init",
                                   "payload": {"authorization": f"Bearer {team.admin.token}"}})
            code = await client.close_code()

        # then
        assert negotiated is None
        assert code == 4406  # "Subprotocol not acceptable"
        assert client.received == []


async def test_deactivated_member_loses_their_subscriptions(settings):
    async with running_server(settings) as server, server.http() as http:
        # given: Bob's inbox view is live (a first event has reached him)
        team = await make_team(http)
        bob = team["bob"]
        async with acked(server, bob.token) as client:
            await client.subscribe("inbox", INBOX_EVENTS, {"after": await start_cursor()})
            first = (await inbound(http, team.account, "+14155550102", "Probe"))["conversationId"]
            await client.wait_for(is_event("inbox", "MessageAdded", first))

            # when
            result = data(await gql(http, UPDATE_USER, {"userId": bob.id, "input": {"active": False}},
                                    token=team.admin.token))
            assert result["updateUser"]["userErrors"] == []

            # then
            assert await client.close_code() == FORBIDDEN


async def test_logout_closes_only_that_sessions_sockets(settings):
    async with running_server(settings) as server, server.http() as http:
        # given: Bob is connected from two logins (say, laptop and phone), both live
        team = await make_team(http)
        bob = team["bob"]
        phone_token = await login(http, bob.user.email)
        async with acked(server, bob.token) as laptop, acked(server, phone_token) as phone:
            await laptop.subscribe("inbox", INBOX_EVENTS, {"after": await start_cursor()})
            await phone.subscribe("inbox", INBOX_EVENTS, {"after": await start_cursor()})
            first = (await inbound(http, team.account, "+14155550103", "Warm-up"))["conversationId"]
            await laptop.wait_for(is_event("inbox", "MessageAdded", first))
            await phone.wait_for(is_event("inbox", "MessageAdded", first))

            # when: the laptop session logs out, then another event happens
            assert data(await gql(http, LOGOUT, token=bob.token))["logout"]["revoked"] is True
            probe = (await inbound(http, team.account, "+14155550104", "After logout"))["conversationId"]

            # then
            assert await laptop.close_code() == FORBIDDEN
            await phone.wait_for(is_event("inbox", "MessageAdded", probe))


async def test_subscribing_on_a_socket_whose_token_was_revoked_meanwhile_is_refused(settings):
    async with running_server(settings) as server, server.http() as http:
        # given: Bob connected (acknowledged), then logged out before subscribing
        team = await make_team(http)
        bob = team["bob"]
        async with acked(server, bob.token) as client:
            assert data(await gql(http, LOGOUT, token=bob.token))["logout"]["revoked"] is True

            # when
            await client.subscribe("inbox", INBOX_EVENTS, {"after": await start_cursor()})
            await inbound(http, team.account, "+14155550105", "Secret")

            # then
            assert await client.close_code() == FORBIDDEN
            assert client.nexts() == []


async def test_queries_and_mutations_on_a_socket_whose_token_was_revoked_are_refused(settings):
    async with running_server(settings) as server, server.http() as http:
        # given: Bob connected (acknowledged), then his login was revoked
        team = await make_team(http)
        bob = team["bob"]
        conversation = (await inbound(http, team.account, "+14155550106", "Hi"))["conversationId"]
        async with acked(server, bob.token) as client:
            assert data(await gql(http, LOGOUT, token=bob.token))["logout"]["revoked"] is True

            # when: he uses the socket for a mutation and a query
            await client.subscribe("typing", SET_TYPING, {"conversationId": conversation, "isTyping": True})
            with suppress(ConnectionClosed):
                await client.subscribe("thread", THREAD, {"id": conversation})

            # then
            assert await client.close_code() == FORBIDDEN
            assert client.nexts() == []
