"""Multiplexed subscriptions, end to end: what every socket receives is what the unshared
graphql-core execution yields for the same events, document, variables and viewer.

Each subscriber is a raw graphql-transport-ws socket on a real server (its frames kept
byte for byte); beside each, the same subscription runs in-process on a schema without
multiplexing (`build_schema(multiplex=False)`), on the same account feed, so it sees the
very same events. Sharing must change nothing a client can see: subscribers of the same
document and variables get byte-identical payloads, one with other variables or another
selection gets its own shape, and the tab counts (`mine`) stay each viewer's own."""
from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import orjson
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from models import Role
from resolvers.auth import authenticate
from schema.app import build_schema
from schema.context import Context
from schema.limits import Limits
from tests.support.documents import operation
from tests.support.graphql_ws import TRANSPORT_WS
from tests.support.http import data, gql
from tests.support.live import running_server, start_cursor
from tests.support.teams import make_team
from tests.support.waiting import until
from tests.support.webhook import inbound

# The shipped document without the two selections read from live state when an event is
# rendered (the thread's typing users, its assignment history): the reference executes
# each event later than the sockets, so those may already have moved on. Everything else
# comes from the event and its rows as of then.
CONVERSATION_EVENTS = operation("ConversationEvents").replace(
    "conversation { id typingUsers { id name initials } }", "conversation { id }"
).replace(
    """        assignmentHistory {
          id
          actor { id name }
          assignee { id name }
          previousAssignee { id name }
          note
          createdAt
        }
""", "")
assert "typingUsers" not in CONVERSATION_EVENTS and "assignmentHistory" not in CONVERSATION_EVENTS
INBOX_EVENTS = operation("InboxEvents")
NOTIFICATION_ADDED = operation("NotificationAdded")
ASSIGN = operation("AssignConversation")
SET_STATUS = operation("SetConversationStatus")
SET_TYPING = operation("SetTyping")
SEND = operation("SendMessage")

# Another selection of the same field: it must get its own shape, not a shared one.
MESSAGE_IDS_ONLY = """subscription Ids($conversationId: ID!) {
  conversationEvents(conversationId: $conversationId) { __typename ... on MessageAdded { message { id } } }
}"""
# A variable read below the root field: subscribers differing in it must not share.
BODY_IF = """subscription BodyIf($conversationId: ID!, $withBody: Boolean!) {
  conversationEvents(conversationId: $conversationId) {
    __typename
    ... on MessageAdded { message { id body @include(if: $withBody) } }
    ... on TypingChanged { isTyping user { id } }
  }
}"""
NOTIFICATION_KINDS = "subscription Kinds($after: String) { notificationAdded(after: $after) { kind message { id } } }"

REFERENCE_SCHEMA = build_schema(multiplex=False)
TIMEOUT = 10


class _Socketless:
    """The in-process reference's stand-in for a socket: records how it was closed."""

    close_code: int | None = None
    scope = {"type": "websocket"}  # what subscriptions look at to close rather than end a stream

    async def close(self, code: int, reason: str) -> None:
        self.close_code = code


class Subscriber:
    """One socket, one subscription; keeps the raw `next` frames."""

    def __init__(self, server, token: str, document: str, variables: dict[str, Any]):
        self.server, self.token, self.document, self.variables = server, token, document, variables
        self.frames: list[str] = []
        self.changed = asyncio.Event()
        self.close_code: int | None = None

    async def start(self) -> None:
        self._socket = await connect(self.server.ws_url, subprotocols=[TRANSPORT_WS])
        init = {"type": "connection_init", "payload": {"authorization": f"Bearer {self.token}"}}
        await self._socket.send(orjson.dumps(init).decode())
        assert json.loads(await self._socket.recv())["type"] == "connection_ack"
        await self._socket.send(orjson.dumps({"id": "sub-1", "type": "subscribe", "payload": {
            "query": self.document, "variables": self.variables}}).decode())
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for frame in self._socket:
                assert isinstance(frame, str), "frames are text"
                message = json.loads(frame)
                if message["type"] == "next":
                    self.frames.append(frame)
                    self.changed.set()
        except ConnectionClosed as closed:
            self.close_code = closed.rcvd.code if closed.rcvd else None
            self.changed.set()

    def payloads(self) -> list[dict]:
        return [json.loads(frame)["payload"] for frame in self.frames]

    def raw_payloads(self) -> list[str]:
        """The payloads' bytes as sent, without the frame around them."""
        prefix = '{"id":"sub-1","type":"next","payload":'
        assert all(frame.startswith(prefix) and frame.endswith("}") for frame in self.frames), self.frames
        return [frame[len(prefix):-1] for frame in self.frames]

    async def stop(self) -> None:
        self._task.cancel()
        await self._socket.close()


class Reference:
    """The same subscription, executed in-process per subscriber as graphql-core does."""

    def __init__(self, token: str, document: str, variables: dict[str, Any]):
        self.token, self.document, self.variables = token, document, variables
        self.items: list[dict] = []
        self.changed = asyncio.Event()

    async def start(self) -> None:
        viewer = await authenticate(self.token)
        self.socket = _Socketless()
        context = Context(request=self.socket, response=None, limits=Limits(), viewer=viewer)
        stream = await REFERENCE_SCHEMA.subscribe(self.document, variable_values=self.variables, context_value=context)
        self._task = asyncio.create_task(self._read(stream))

    async def _read(self, stream) -> None:
        async for result in stream:
            payload: dict[str, Any] = {"data": result.data}
            if result.errors:
                payload["errors"] = [error.formatted for error in result.errors]
            self.items.append(json.loads(json.dumps(payload)))
            self.changed.set()

    def payloads(self) -> list[dict]:
        return self.items

    async def stop(self) -> None:
        self._task.cancel()


class Pair:
    """A socket subscriber and its unshared reference."""

    def __init__(self, server, token: str, document: str, variables: dict[str, Any]):
        self.socket = Subscriber(server, token, document, variables)
        self.reference = Reference(token, document, variables)

    async def start(self) -> None:
        await self.socket.start()
        await self.reference.start()

    async def stop(self) -> None:
        await self.socket.stop()
        await self.reference.stop()

    async def wait_for(self, done: Callable[[list[dict]], bool]) -> None:
        """Until `done(payloads)` holds for both."""
        async def seen(side: Subscriber | Reference) -> None:
            while not done(side.payloads()):
                side.changed.clear()
                await side.changed.wait()

        for side in (self.socket, self.reference):
            await asyncio.wait_for(seen(side), TIMEOUT)

    async def wait_for_message(self, message_id: str) -> None:
        marker = f'"message": {{"id": "{message_id}"'
        await self.wait_for(lambda payloads: any(marker in json.dumps(p) for p in payloads))

    def clear(self) -> None:
        self.socket.frames.clear()
        self.reference.items.clear()

    def assert_same_as_reference(self) -> None:
        assert self.socket.payloads() == self.reference.payloads()


@asynccontextmanager
async def subscribed(*pairs: Pair):
    try:
        for pair in pairs:
            await pair.start()
        yield
    finally:  # before the server stops, which would end them less tidily
        for pair in pairs:
            await pair.stop()


async def warmed_up(http, account, phone: str, pairs: list[Pair]) -> None:
    """Two messages into the existing conversation reach everyone: the first proves every
    subscription registered (it may still be replaying), the second that replay is over.
    Then everything after is live for everyone (typing is live-only)."""
    for body in ("Warm-up", "Warm-up again"):
        message_id = (await inbound(http, account, phone, body))["messageId"]
        for pair in pairs:
            await pair.wait_for_message(message_id)
    for pair in pairs:
        pair.clear()


async def finished(http, account, phone: str, pairs: list[Pair]) -> None:
    """A last customer message reaches everyone: every earlier event has too (in order)."""
    message_id = (await inbound(http, account, phone, "Last one"))["messageId"]
    for pair in pairs:
        await pair.wait_for_message(message_id)


def typename(payload: dict) -> str:
    return next(iter(payload["data"].values()))["__typename"]


def event_of(payload: dict) -> dict:
    return next(iter(payload["data"].values()))


async def ok(http, document: str, variables: dict, token: str) -> None:
    payload = next(iter(data(await gql(http, document, variables, token=token)).values()))
    assert payload["userErrors"] == [], payload


async def test_conversation_events_are_what_unshared_execution_yields(settings):
    phone = "+14155550801"
    async with running_server(replace(settings, typing_ttl_seconds=60)) as server, server.http() as http:
        # given: the same document and variables for two members (one of them twice: live,
        # and resuming from a cursor), another selection, and another variable value
        team = await make_team(http)
        admin, bob, carol = team.admin, team["bob"], team["carol"]
        conversation = (await inbound(http, team.account, phone, "Hello"))["conversationId"]
        variables = {"conversationId": conversation}
        bob_full = Pair(server, bob.token, CONVERSATION_EVENTS, variables)
        carol_full = Pair(server, carol.token, CONVERSATION_EVENTS, variables)
        carol_resumed = Pair(server, carol.token, CONVERSATION_EVENTS, {**variables, "after": await start_cursor()})
        admin_ids = Pair(server, admin.token, MESSAGE_IDS_ONLY, variables)
        with_body = Pair(server, admin.token, BODY_IF, {**variables, "withBody": True})
        without_body = Pair(server, admin.token, BODY_IF, {**variables, "withBody": False})
        pairs = [bob_full, carol_full, carol_resumed, admin_ids, with_body, without_body]
        async with subscribed(*pairs):
            await warmed_up(http, team.account, phone, pairs)

            # when: every kind of conversation event
            await inbound(http, team.account, phone, "Where is my order? ✓")
            await ok(http, ASSIGN, {"conversationId": conversation, "assigneeId": bob.id}, admin.token)
            await ok(http, SET_TYPING, {"conversationId": conversation, "isTyping": True}, admin.token)
            await ok(http, SET_TYPING, {"conversationId": conversation, "isTyping": True}, bob.token)
            await ok(http, SEND, {"conversationId": conversation, "body": "On its way"}, bob.token)
            await ok(http, SET_TYPING, {"conversationId": conversation, "isTyping": False}, admin.token)
            await ok(http, SET_STATUS, {"conversationId": conversation, "status": "CLOSED"}, carol.token)
            await ok(http, SET_STATUS, {"conversationId": conversation, "status": "OPEN"}, carol.token)
            await ok(http, ASSIGN, {"conversationId": conversation, "assigneeId": None}, carol.token)
            await finished(http, team.account, phone, pairs)

        # then: each socket got exactly what its own unshared execution yields
        for pair in pairs:
            pair.assert_same_as_reference()
        kinds = {typename(payload) for payload in bob_full.socket.payloads() + carol_full.socket.payloads()}
        assert kinds == {"MessageAdded", "ConversationAssigned", "TypingChanged", "ConversationStatusChanged"}
        # the same document and variables: byte-identical payloads, for different members
        # too (bob's own typing is not echoed to him), and whatever cursor they resumed from
        carols = zip(carol_full.socket.raw_payloads(), carol_full.socket.payloads(), strict=True)
        bobs_typing = [raw for raw, payload in carols
                       if typename(payload) == "TypingChanged" and event_of(payload)["user"]["id"] == bob.id]
        assert bobs_typing
        assert bob_full.socket.raw_payloads() == [raw for raw in carol_full.socket.raw_payloads()
                                                  if raw not in bobs_typing]
        assert carol_resumed.socket.raw_payloads() == carol_full.socket.raw_payloads()
        # another selection, another shape
        shapes = {key for payload in admin_ids.socket.payloads() for key in event_of(payload)}
        assert shapes == {"__typename", "message"}
        # a variable below the root field: each value its own result
        bodies = [event_of(p)["message"] for p in with_body.socket.payloads() if typename(p) == "MessageAdded"]
        no_bodies = [event_of(p)["message"] for p in without_body.socket.payloads() if typename(p) == "MessageAdded"]
        assert [m["body"] for m in bodies] == ["Where is my order? ✓", "On its way", "Last one"]
        assert no_bodies == [{"id": m["id"]} for m in bodies]


async def test_inbox_events_share_messages_but_keep_each_viewers_counts(settings):
    phone, other_phone, last_phone = "+14155550802", "+14155550803", "+14155550806"
    async with running_server(settings) as server, server.http() as http:
        # given: three members with the same document and variables, and a view of another scope
        team = await make_team(http, roles={"bob": Role.AGENT, "carol": Role.AGENT, "dave": Role.AGENT})
        admin, bob, carol, dave = team.admin, team["bob"], team["carol"], team["dave"]
        conversation = (await inbound(http, team.account, phone, "Hello"))["conversationId"]
        await inbound(http, team.account, last_phone, "Hello")  # stays unassigned: in every view below
        everything = {"filter": {"status": "OPEN", "scope": "ALL"}}
        views = {name: Pair(server, member.token, INBOX_EVENTS, everything)
                 for name, member in (("bob", bob), ("carol", carol), ("dave", dave))}
        unassigned = Pair(server, admin.token, INBOX_EVENTS, {"filter": {"scope": "UNASSIGNED"}})
        pairs = [*views.values(), unassigned]

        async def counts_arrived(expected: int) -> None:
            """Counts are read when the event is rendered: wait before the next change."""
            def arrived(payloads: list[dict]) -> bool:
                return [typename(p) for p in payloads].count("InboxCountsChanged") == expected

            for view in views.values():
                await view.wait_for(arrived)

        async with subscribed(*pairs):
            await warmed_up(http, team.account, phone, pairs)

            # when: a new conversation, assignments, a status change
            second = (await inbound(http, team.account, other_phone, "New here"))["conversationId"]
            await counts_arrived(1)
            await ok(http, ASSIGN, {"conversationId": conversation, "assigneeId": bob.id}, admin.token)
            await counts_arrived(2)
            await ok(http, ASSIGN, {"conversationId": second, "assigneeId": carol.id}, admin.token)
            await counts_arrived(3)
            await ok(http, SET_STATUS, {"conversationId": second, "status": "CLOSED"}, carol.token)
            await counts_arrived(4)
            await finished(http, team.account, last_phone, pairs)  # moves no counts: nothing can follow it

        # then
        for pair in pairs:
            pair.assert_same_as_reference()
        raw = {name: pair.socket.raw_payloads() for name, pair in views.items()}
        parsed = {name: pair.socket.payloads() for name, pair in views.items()}
        assert [typename(p) for p in parsed["bob"]] == [typename(p) for p in parsed["carol"]]
        counts = {name: [event_of(p)["counts"] for p in payloads if typename(p) == "InboxCountsChanged"]
                  for name, payloads in parsed.items()}
        # `mine` is each viewer's own: bob's and carol's tabs differ after their assignments...
        assert [c["mine"] for c in counts["bob"]] == [0, 1, 1, 1]
        assert [c["mine"] for c in counts["carol"]] == [0, 0, 1, 0]
        # ...while dave, with nothing assigned, sees bob's tabs until bob got one, under
        # his own id (each member's counts are their own cache entry)
        def tabs(row: dict) -> dict:
            return {**row, "id": None}
        assert tabs(counts["dave"][0]) == tabs(counts["bob"][0]) and tabs(counts["dave"][1]) != tabs(counts["bob"][1])
        assert len({counts[name][0]["id"] for name in ("bob", "carol", "dave")}) == 3
        # everything else byte for byte the same for every viewer
        for index, payload in enumerate(parsed["bob"]):
            if typename(payload) != "InboxCountsChanged":
                assert raw["bob"][index] == raw["carol"][index] == raw["dave"][index]


async def test_notifications_are_what_unshared_execution_yields(settings):
    phone = "+14155550804"
    async with running_server(settings) as server, server.http() as http:
        # given: bob on two sockets with the same document, and on a third with another selection
        team = await make_team(http)
        admin, bob = team.admin, team["bob"]
        conversation = (await inbound(http, team.account, phone, "Hello"))["conversationId"]
        after = {"after": await start_cursor()}  # whoever registers late replays what it missed
        first = Pair(server, bob.token, NOTIFICATION_ADDED, after)
        second = Pair(server, bob.token, NOTIFICATION_ADDED, after)
        kinds_only = Pair(server, bob.token, NOTIFICATION_KINDS, after)
        pairs = [first, second, kinds_only]
        async with subscribed(*pairs):
            await ok(http, ASSIGN, {"conversationId": conversation, "assigneeId": bob.id}, admin.token)
            for pair in pairs:
                await pair.wait_for(lambda payloads: len(payloads) == 1)

            # when: a customer writes into bob's conversation
            message = (await inbound(http, team.account, phone, "Any news?"))["messageId"]
            for pair in pairs:
                await pair.wait_for_message(message)

        # then
        for pair in pairs:
            pair.assert_same_as_reference()
        assert [notification(p)["kind"] for p in first.socket.payloads()] == ["ASSIGNED", "NEW_MESSAGE"]
        assert first.socket.raw_payloads() == second.socket.raw_payloads()
        assert [set(notification(p)) for p in kinds_only.socket.payloads()] == [{"kind", "message"}] * 2


def notification(payload: dict) -> dict:
    return payload["data"]["notificationAdded"]


async def test_a_selection_reading_the_context_runs_per_subscriber_with_the_same_errors(settings):
    """`Conversation.timeline` reads the connection's limits: such a document is not
    shared, and its errors (here a coded one, shown as is) arrive as before."""
    phone = "+14155550805"
    document = """subscription Thread($conversationId: ID!, $first: Int, $after: String) {
      conversationEvents(conversationId: $conversationId, after: $after) {
        __typename
        ... on MessageAdded {
          message { id }
          conversation { timeline(first: $first) { edges { node { __typename } } } }
        }
      }
    }"""
    async with running_server(settings) as server, server.http() as http:
        # given
        team = await make_team(http)
        conversation = (await inbound(http, team.account, phone, "Hello"))["conversationId"]
        after = await start_cursor()
        valid = Pair(server, team["bob"].token, document, {"conversationId": conversation, "first": 2, "after": after})
        too_many = Pair(server, team["carol"].token, document,
                        {"conversationId": conversation, "first": 1000, "after": after})
        pairs = [valid, too_many]
        async with subscribed(*pairs):
            # when
            await inbound(http, team.account, phone, "Again")
            for pair in pairs:
                await pair.wait_for(lambda payloads: len(payloads) == 1)

        # then
        for pair in pairs:
            pair.assert_same_as_reference()
        (payload,) = too_many.socket.payloads()
        assert payload["data"] is None
        assert payload["errors"][0]["message"] == "first must be between 1 and 100"
        assert payload["errors"][0]["path"] == ["conversationEvents", "conversation", "timeline"]
        assert payload["errors"][0]["extensions"]["code"] == "VALIDATION"
        (payload,) = valid.socket.payloads()
        assert "errors" not in payload and len(event_of(payload)["conversation"]["timeline"]["edges"]) == 2


async def test_thread_watchers_get_their_threads_events_and_the_end_of_their_access(settings):
    """The account feed hands a conversation's events only to that conversation's
    watchers (and to views not tied to one); the end of a member's access is for all."""
    phone_a, phone_b = "+14155550807", "+14155550808"
    async with running_server(settings) as server, server.http() as http:
        # given: bob watches one thread, carol another
        team = await make_team(http)
        bob, carol = team["bob"], team["carol"]
        thread_a = (await inbound(http, team.account, phone_a, "Hello"))["conversationId"]
        thread_b = (await inbound(http, team.account, phone_b, "Hello"))["conversationId"]
        watch_a = Pair(server, bob.token, CONVERSATION_EVENTS, {"conversationId": thread_a})
        watch_b = Pair(server, carol.token, CONVERSATION_EVENTS, {"conversationId": thread_b})
        async with subscribed(watch_a, watch_b):
            await warmed_up(http, team.account, phone_a, [watch_a])
            await warmed_up(http, team.account, phone_b, [watch_b])

            # when: a message in each thread
            in_a = (await inbound(http, team.account, phone_a, "For A"))["messageId"]
            in_b = (await inbound(http, team.account, phone_b, "For B"))["messageId"]
            await watch_a.wait_for_message(in_a)
            await watch_b.wait_for_message(in_b)

            # then: each got its own thread's
            for pair in (watch_a, watch_b):
                pair.assert_same_as_reference()
            assert [event_of(p)["message"]["body"] for p in watch_a.socket.payloads()] == ["For A"]
            assert [event_of(p)["message"]["body"] for p in watch_b.socket.payloads()] == ["For B"]

            # when: bob is deactivated
            await ok(http, operation("UpdateUser"), {"userId": bob.id, "input": {"active": False}}, team.admin.token)

            # then: his watch ends with 4403 (over the socket and in the reference alike)
            await until(lambda: watch_a.socket.close_code == watch_a.reference.socket.close_code == 4403,
                        "both sides closed with 4403", timeout=TIMEOUT)
            assert watch_b.socket.close_code is None
