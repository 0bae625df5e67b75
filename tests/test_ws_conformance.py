"""The graphql-transport-ws protocol's rules, walked with raw frames against a real
server (https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md): each close
code (4400 for every malformed frame, 4401, 4403, 4406, 4408, 4409, 4429); documents
that cannot run answered with an `error` message for that operation alone, the socket
kept open; ping and pong; and, for any frame at all, an answer or a 4400, never a
dropped connection or a traceback in the server's log."""
from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed, InvalidStatus

from subscriptions import runtime
from tests.support.documents import operation
from tests.support.graphql_ws import LEGACY_WS
from tests.support.live import LiveServer, running_server, start_cursor
from tests.support.raw_ws import RawSocket, raw_socket
from tests.support.teams import Team, make_team
from tests.support.waiting import until
from tests.support.webhook import inbound

INBOX_EVENTS = operation("InboxEvents")
EVENT_CURSOR = operation("EventCursor")
INVALID_MESSAGE, UNAUTHORIZED, FORBIDDEN, NOT_ACCEPTABLE = 4400, 4401, 4403, 4406
INIT_TIMEOUT, DUPLICATE_ID, TOO_MANY_INITS = 4408, 4409, 4429


@dataclass
class Live:
    server: LiveServer
    team: Team
    conversation: str  # one customer's conversation, so a resumed InboxEvents has an event to replay
    before: str  # a cursor from before its first message

    @property
    def token(self) -> str:
        return self.team.admin.token

    @asynccontextmanager
    async def socket(self, subprotocols=None) -> AsyncIterator[RawSocket]:
        """A socket as a browser on the server's own origin opens it."""
        extra = {} if subprotocols is None else {"subprotocols": subprotocols}
        async with raw_socket(self.server.ws_url, origin=self.server.http_url, **extra) as socket:
            yield socket

    @asynccontextmanager
    async def acked(self) -> AsyncIterator[RawSocket]:
        async with self.socket() as socket:
            await socket.acknowledged(self.token)
            yield socket


@asynccontextmanager
async def live_server(settings) -> AsyncIterator[Live]:
    async with running_server(settings) as server, server.http() as http:
        team = await make_team(http)
        before = await start_cursor()
        conversation = (await inbound(http, team.account, "+14155550190", "Hello"))["conversationId"]
        yield Live(server, team, conversation, before)


@pytest.fixture
async def live(settings) -> AsyncIterator[Live]:
    async with live_server(settings) as running:
        yield running


def feed_subscribers(account_id: int) -> set:
    realtime = runtime.current()
    assert realtime is not None, "no app is running"
    feed = realtime.feeds._feeds.get(account_id)
    return set(feed.subscribers) if feed else set()


def is_message_added(operation_id: str, conversation: str):
    def matches(message: dict) -> bool:
        if message.get("id") != operation_id or message["type"] != "next":
            return False
        event = (message["payload"].get("data") or {}).get("inboxEvents") or {}
        return event.get("__typename") == "MessageAdded" and event["conversation"]["id"] == conversation
    return matches


def is_counts(operation_id: str):
    def matches(message: dict) -> bool:
        event = (message.get("payload") or {}).get("data", {}).get("inboxEvents") if message["type"] == "next" else None
        return message.get("id") == operation_id and (event or {}).get("__typename") == "InboxCountsChanged"
    return matches


async def assert_subscriptions_work(live: Live, socket: RawSocket, operation_id: str = "check") -> None:
    """The socket answers a ping, and a subscription on it streams: InboxEvents resumed
    from before the customer's message replays that message."""
    await socket.pong()
    await socket.subscribe(operation_id, INBOX_EVENTS, {"after": live.before})
    await socket.wait_for(is_message_added(operation_id, live.conversation))
    # The replay ends with the counts: the stop below meets a subscription at rest.
    await socket.wait_for(is_counts(operation_id))
    await socket.stop(operation_id)


async def assert_still_serving(live: Live) -> None:
    """A fresh socket is accepted and served."""
    async with live.acked() as socket:
        await assert_subscriptions_work(live, socket)


# --- 4400: every malformed frame ------------------------------------------------------

SUBSCRIBE: dict[str, Any] = {"id": "1", "type": "subscribe", "payload": {"query": "{ __typename }"}}


def subscribe_with(**changes: object) -> dict:
    """SUBSCRIBE with these payload keys changed (a value of ... removes the key)."""
    payload = {**SUBSCRIBE["payload"], **changes}
    return {**SUBSCRIBE, "payload": {key: value for key, value in payload.items() if value is not ...}}


def without(message: dict, key: str) -> dict:
    return {name: value for name, value in message.items() if name != key}


MALFORMED_JSON_FRAMES: dict[str, object] = {
    "a JSON array": [],
    "an array of a valid message": [{"type": "ping"}],
    "a string": "ping",
    "null": None,
    "a number": 42,
    "true": True,
    "an object without type": {"payload": {}},
    "an empty object": {},
    "a numeric type": {"type": 1},
    "a null type": {"type": None},
    "a list type": {"type": ["ping"]},
    "an unknown type": {"type": "hello"},
    "a legacy protocol type": {"type": "start", "id": "1", "payload": {"query": "{ __typename }"}},
    "subscribe without id": without(SUBSCRIBE, "id"),
    "subscribe with a numeric id": {**SUBSCRIBE, "id": 1},
    "subscribe with a null id": {**SUBSCRIBE, "id": None},
    "subscribe with an empty id": {**SUBSCRIBE, "id": ""},
    "subscribe without payload": without(SUBSCRIBE, "payload"),
    "subscribe with a null payload": {**SUBSCRIBE, "payload": None},
    "subscribe with a string payload": {**SUBSCRIBE, "payload": "{ __typename }"},
    "subscribe with a list payload": {**SUBSCRIBE, "payload": ["{ __typename }"]},
    "a numeric query": subscribe_with(query=42),
    "a list query": subscribe_with(query=["{ __typename }"]),
    "an object query": subscribe_with(query={"query": "{ __typename }"}),
    "a missing query": subscribe_with(query=...),
    "a null query": subscribe_with(query=None),
    "list variables": subscribe_with(variables=[]),
    "string variables": subscribe_with(variables="{}"),
    "numeric variables": subscribe_with(variables=1),
    "a numeric operationName": subscribe_with(operationName=1),
    "an object operationName": subscribe_with(operationName={}),
    "string extensions": subscribe_with(extensions="persisted"),
    "list extensions": subscribe_with(extensions=[]),
    "complete without id": {"type": "complete"},
    "complete with a numeric id": {"type": "complete", "id": 7},
    "connection_init with a string payload": {"type": "connection_init", "payload": "token"},
}

MALFORMED_RAW_FRAMES: dict[str, str | bytes] = {
    "a binary frame": b'{"type": "ping"}',
    "non-JSON text": "{type: ping}",
    "empty text": "",
    "truncated JSON": '{"type": "subscribe", "id": "1", "payload": {"query": ',
}


async def send_malformed(socket: RawSocket, case: str) -> None:
    if case in MALFORMED_RAW_FRAMES:
        await socket.send_raw(MALFORMED_RAW_FRAMES[case])
    else:
        await socket.send(MALFORMED_JSON_FRAMES[case])


@pytest.mark.parametrize("case", [*MALFORMED_JSON_FRAMES, *MALFORMED_RAW_FRAMES])
async def test_a_malformed_frame_after_the_ack_closes_with_4400_and_the_server_keeps_serving(live, case):
    # given
    async with live.acked() as socket:
        # when
        await send_malformed(socket, case)

        # then
        closed = await socket.closed()
    assert closed.code == INVALID_MESSAGE, (case, closed)
    assert closed.reason  # the protocol asks for a reason a developer can read
    assert [message["type"] for message in socket.received] == ["connection_ack"]
    await assert_still_serving(live)


@pytest.mark.parametrize("case", ["a JSON array", "null", "a number", "an unknown type", "a numeric type",
                                  "a binary frame", "non-JSON text"])
async def test_a_malformed_frame_before_connection_init_closes_with_4400(live, case):
    # given
    async with live.socket() as socket:
        # when
        await send_malformed(socket, case)

        # then
        closed = await socket.closed()
    assert closed.code == INVALID_MESSAGE, (case, closed)
    assert socket.received == []
    await assert_still_serving(live)


# --- the other close codes -----------------------------------------------------------

async def test_subscribe_before_connection_init_closes_with_4401(live):
    async with live.socket() as socket:
        await socket.subscribe("1", INBOX_EVENTS, {"after": live.before})

        closed = await socket.closed()

    assert closed.code == UNAUTHORIZED
    assert socket.received == []


@pytest.mark.parametrize("payload", [
    pytest.param({"authorization": "Bearer not-a-real-token"}, id="an unknown token"),
    pytest.param({"authorization": "not-even-bearer"}, id="no Bearer scheme"),
    pytest.param({"authorization": 42}, id="a non-string authorization"),
    pytest.param({}, id="no authorization"),
    pytest.param(None, id="no payload"),
])
async def test_connection_init_without_a_valid_token_closes_with_4403(live, payload):
    async with live.socket() as socket:
        await socket.send({"type": "connection_init"} if payload is None else
                          {"type": "connection_init", "payload": payload})
        with suppress(ConnectionClosed):  # the server may have closed already
            await socket.subscribe("1", INBOX_EVENTS, {"after": live.before})

        closed = await socket.closed()

    assert closed.code == FORBIDDEN
    assert socket.received == []


async def test_connection_init_with_a_null_payload_is_refused_for_want_of_a_token(live):
    # The protocol allows `payload: null`; here it carries no token, so 4403 is the
    # answer that says why (Strawberry closes with 4400 "Invalid connection init payload").
    async with live.socket() as socket:
        await socket.send({"type": "connection_init", "payload": None})

        closed = await socket.closed()

    assert closed.code in (FORBIDDEN, INVALID_MESSAGE), closed
    assert socket.received == []


async def test_no_connection_init_within_the_timeout_closes_with_4408(settings):
    async with live_server(replace(settings, connection_init_timeout_seconds=0.3)) as live:
        async with live.socket() as socket:
            closed = await socket.closed()  # nothing sent: the server must close by itself

        assert closed.code == INIT_TIMEOUT
        assert socket.received == []
        await assert_still_serving(live)


async def test_a_connection_init_in_time_is_not_closed_by_the_timeout(settings):
    async with live_server(replace(settings, connection_init_timeout_seconds=0.3)) as live:
        async with live.acked() as socket:
            # The subscription replays, then waits for live events: far past the timeout.
            await assert_subscriptions_work(live, socket)
            await socket.subscribe("later", INBOX_EVENTS, {"after": live.before})
            await socket.wait_for(is_message_added("later", live.conversation))
            await socket.pong()


async def test_a_duplicate_subscription_id_closes_with_4409(live):
    async with live.acked() as socket:
        await socket.subscribe("inbox", INBOX_EVENTS, {"after": live.before})
        await socket.wait_for(is_message_added("inbox", live.conversation))

        await socket.subscribe("inbox", INBOX_EVENTS, {"after": live.before})
        closed = await socket.closed()

    assert closed.code == DUPLICATE_ID


async def test_the_id_of_a_completed_operation_can_be_used_again(live):
    async with live.acked() as socket:
        for _ in range(2):
            await socket.subscribe("cursor", EVENT_CURSOR)
            await socket.wait_for(lambda message: message["type"] == "complete" and message["id"] == "cursor")

        await socket.pong()
    nexts = [message for message in socket.for_operation("cursor") if message["type"] == "next"]
    assert [bool(message["payload"]["data"]["eventCursor"]) for message in nexts] == [True, True]


async def test_a_second_connection_init_closes_with_4429(live):
    async with live.acked() as socket:
        await socket.init(live.token)

        closed = await socket.closed()

    assert closed.code == TOO_MANY_INITS


async def test_the_legacy_graphql_ws_protocol_is_refused_with_4406(live):
    async with live.socket(subprotocols=[LEGACY_WS]) as socket:
        negotiated = socket.socket.subprotocol
        with suppress(ConnectionClosed):  # the legacy protocol's own first message
            await socket.send({"type": "connection_init", "payload": {"authorization": f"Bearer {live.token}"}})

        closed = await socket.closed()

    assert negotiated is None
    assert closed.code == NOT_ACCEPTABLE
    assert socket.received == []


async def test_a_socket_offering_no_subprotocol_is_refused(live):
    # RFC 6455 lets the server fail the handshake itself; what it must not do is speak
    # graphql-transport-ws to a client that did not ask for it.
    try:
        async with live.socket(subprotocols=[]) as socket:
            closed = await socket.closed()
    except InvalidStatus as refused:
        assert refused.response.status_code == 400
    else:
        assert closed.code == NOT_ACCEPTABLE
        assert socket.received == []


# --- documents that cannot run: an `error` message, the socket stays open --------------


def two_operations() -> str:
    return "query A { eventCursor } query B { eventCursor }"


@pytest.mark.parametrize(("document", "variables", "operation_name", "code"), [
    pytest.param("subscription { inboxEvents {", {}, None, "GRAPHQL_PARSE_FAILED", id="a syntax error"),
    pytest.param("query {", {}, None, "GRAPHQL_PARSE_FAILED", id="a syntax error in a query"),
    pytest.param("subscription { noSuchField }", {}, None, "GRAPHQL_VALIDATION_FAILED", id="an unknown field"),
    pytest.param("subscription { inboxEvents { __typename } eventCursor }", {}, None, "GRAPHQL_VALIDATION_FAILED",
                 id="two root fields in a subscription"),
    pytest.param(INBOX_EVENTS, {}, "NoSuchOperation", "OPERATION_RESOLUTION_FAILURE", id="an unknown operationName"),
    pytest.param(two_operations(), {}, None, "OPERATION_RESOLUTION_FAILURE", id="two operations, no operationName"),
    pytest.param(INBOX_EVENTS, {}, "", "OPERATION_RESOLUTION_FAILURE", id="an empty operationName"),
    pytest.param("", {}, None, "BAD_REQUEST", id="an empty document"),  # as Apollo Server answers it
    pytest.param("fragment F on Query { eventCursor }", {}, None, "OPERATION_RESOLUTION_FAILURE",
                 id="no operation at all"),
    pytest.param(INBOX_EVENTS, {"filter": {"scope": "NOT_A_SCOPE"}}, None, "BAD_USER_INPUT",
                 id="a variable of the wrong enum"),
    pytest.param(INBOX_EVENTS, {"after": 42}, None, "BAD_USER_INPUT", id="a number for a String variable"),
    pytest.param("subscription($c: ID!) { conversationEvents(conversationId: $c) { __typename } }", {}, None,
                 "BAD_USER_INPUT", id="a required variable missing"),
])
async def test_a_document_that_cannot_run_gets_an_error_message_and_the_socket_stays_open(
        live, document, variables, operation_name, code):
    # given
    async with live.acked() as socket:
        # when
        await socket.subscribe("bad", document, variables, operation_name)
        error = await socket.wait_for(lambda message: message.get("id") == "bad")

        # then: one `error` for that operation, nothing else for it, and the socket serves on
        await assert_subscriptions_work(live, socket)
    assert error["type"] == "error", error
    assert isinstance(error["payload"], list) and error["payload"], error
    for graphql_error in error["payload"]:
        assert graphql_error["message"] and graphql_error["message"] != "Internal server error", error
        assert graphql_error["extensions"]["code"] == code, error
    assert socket.for_operation("bad") == [error]


async def test_a_document_over_the_token_limit_gets_an_error_message(settings):
    # InboxEvents (169 tokens) still runs: the check afterwards subscribes with it.
    async with live_server(replace(settings, max_tokens=200)) as live:
        too_long = "subscription { inboxEvents { " + "__typename " * 200 + "} }"
        async with live.acked() as socket:
            await socket.subscribe("long", too_long)
            error = await socket.wait_for(lambda message: message.get("id") == "long")

            await assert_subscriptions_work(live, socket)

    assert error["type"] == "error", error
    assert [e["extensions"]["code"] for e in error["payload"]] == ["GRAPHQL_PARSE_FAILED"]
    assert "token" in error["payload"][0]["message"].lower(), error
    assert socket.for_operation("long") == [error]


async def test_an_unknown_operation_name_says_which(live):
    async with live.acked() as socket:
        await socket.subscribe("bad", INBOX_EVENTS, {}, "Inbox")
        error = await socket.wait_for(lambda message: message.get("id") == "bad")

    assert "Inbox" in error["payload"][0]["message"], error


async def test_the_named_operation_of_several_is_the_one_that_runs(live):
    document = f"query A {{ eventCursor }}\n{INBOX_EVENTS}"
    async with live.acked() as socket:
        await socket.subscribe("named", document, {"after": live.before}, "InboxEvents")
        await socket.wait_for(is_message_added("named", live.conversation))


# --- ping, pong, complete ------------------------------------------------------------

async def test_ping_gets_pong_before_and_after_the_ack(live):
    async with live.socket() as socket:
        before_init = await socket.pong()
        await socket.acknowledged(live.token)
        after_ack = await socket.pong()

    assert before_init["type"] == after_ack["type"] == "pong"


async def test_an_unsolicited_pong_is_ignored(live):
    async with live.acked() as socket:
        await socket.send({"type": "pong", "payload": {"any": "thing"}})

        await assert_subscriptions_work(live, socket)


async def test_complete_for_an_unknown_id_is_ignored(live):
    async with live.acked() as socket:
        await socket.send({"id": "never-subscribed", "type": "complete"})

        await assert_subscriptions_work(live, socket)
    assert socket.for_operation("never-subscribed") == []


async def test_complete_stops_a_running_subscription_and_frees_its_id(live):
    async with live.acked() as socket:
        await socket.subscribe("inbox", INBOX_EVENTS, {"after": live.before})
        await socket.wait_for(is_message_added("inbox", live.conversation))

        await socket.send({"id": "inbox", "type": "complete"})
        await socket.pong()
        await assert_subscriptions_work(live, socket, operation_id="inbox")  # the id is free again


async def test_stopping_running_subscriptions_logs_nothing_and_releases_them(live, caplog):
    with server_errors(caplog) as errors:
        for _ in range(15):
            async with live.acked() as socket:
                await socket.subscribe("inbox", INBOX_EVENTS)
                await socket.pong()
                await socket.stop("inbox")
            gc.collect()  # what the generators left behind is finalized now, not in a later test
        await until(lambda: not feed_subscribers(live.team.account.id), "every feed subscriber released")
    assert [f"{record.name}: {record.getMessage()}" for record in caplog.records if record.name == "asyncio"] == []
    assert errors == []


# --- any frame at all ------------------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
_query = st.one_of(
    _json, st.text(max_size=60),
    st.sampled_from([INBOX_EVENTS, "{ eventCursor }", "subscription { inboxEvents { __typename } }", "query {"]),
)
_optional_fields = {
    "variables": st.one_of(st.none(), st.dictionaries(st.text(max_size=8), _json, max_size=3), _json),
    "operationName": st.one_of(st.none(), st.text(max_size=12), _json),
    "extensions": st.one_of(st.none(), _json, st.fixed_dictionaries({"persistedQuery": _json})),
}
_payload = st.one_of(_json, st.fixed_dictionaries({}, optional={"query": _query, **_optional_fields}))
_operation_id = st.one_of(st.text(min_size=1, max_size=8), _json)
_frames = st.one_of(
    _json,
    # nearly valid: the frames a client could get slightly wrong
    st.fixed_dictionaries({"type": st.just("subscribe")}, optional={"id": _operation_id, "payload": _payload}),
    # well-formed subscribes of any document and arguments
    st.fixed_dictionaries({"type": st.just("subscribe"), "id": st.text(min_size=1, max_size=8),
                           "payload": st.fixed_dictionaries({"query": _query}, optional=_optional_fields)}),
    st.fixed_dictionaries({"type": st.just("connection_init")}, optional={"payload": _json}),
    st.fixed_dictionaries({"type": st.sampled_from(["ping", "pong", "complete"])},
                          optional={"id": _operation_id, "payload": _json}),
)

# The close codes a frame after the ack may earn: a malformed frame; a second
# connection_init; a subscribe reusing a running operation's id (none here: one frame).
ALLOWED_CLOSES = {INVALID_MESSAGE, TOO_MANY_INITS}


@contextmanager
def server_errors(caplog: pytest.LogCaptureFixture) -> Iterator[list[logging.LogRecord]]:
    """What the server logs meanwhile that is a failure of its own: an error or a
    traceback from any logger (an operation's task, uvicorn's ASGI runner, asyncio's
    unretrieved task exceptions, Strawberry's for the errors it answers: only failures of
    ours are logged there, schema/app.py). uvicorn's loggers do
    not propagate to the root (its logging config), so the capture is attached to them
    directly, once the server has configured them."""
    uvicorn = logging.getLogger("uvicorn")
    uvicorn.addHandler(caplog.handler)
    caplog.set_level(logging.ERROR)
    records: list[logging.LogRecord] = []
    start = len(caplog.records)
    try:
        yield records
    finally:
        uvicorn.removeHandler(caplog.handler)
        records.extend(record for record in caplog.records[start:]
                       if record.levelno >= logging.ERROR or record.exc_info)


def graphql_errors(received: list[dict]) -> list[dict]:
    """The GraphQL errors of every `error` message and `next` payload received."""
    found: list[dict] = []
    for message in received:
        if message["type"] == "error" and isinstance(message.get("payload"), list):
            found.extend(message["payload"])
        elif message["type"] == "next":
            found.extend(message["payload"].get("errors") or [])
    return found


@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frame=_frames)
async def test_any_frame_after_the_ack_is_answered_or_closed_with_4400(live, caplog, frame):
    with server_errors(caplog) as errors:
        # given
        async with live.acked() as socket:
            # when: the frame, then a ping
            await socket.send(frame)
            try:
                await socket.pong()
                closed = None
            except ConnectionClosed:
                closed = await socket.closed()
            if closed is None and isinstance(frame, dict) and isinstance(frame.get("id"), str) and frame["id"]:
                await socket.stop(frame["id"])  # whatever it started ends before the socket closes

        # then
        assert closed is None or closed.code in ALLOWED_CLOSES, (frame, closed)
        masked = [error for error in graphql_errors(socket.received) if error["message"] == "Internal server error"]
        assert masked == [], (frame, socket.received)
        await assert_still_serving(live)
    assert errors == [], (frame, [f"{record.name}: {record.getMessage()}" for record in errors])
