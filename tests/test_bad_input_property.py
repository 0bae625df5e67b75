"""Any input at all, at each door of the server: POST and GET /graphql (real operations
with variables of any shape and text of any code point, bodies of any JSON, bytes of any
kind under any content type, any credentials), the signed webhook, and the WebSocket (any
text frames, before and after connection_init). For every example (tests/support/bad_input.py):

- the answer is a typed refusal or an answer, never a failure: over HTTP a status below
  500 and a JSON body (GraphQL errors with codes; the webhook's `{"error", "field"}`), over
  a WebSocket protocol messages or a close with a code the protocol gives for what was sent;
- no error is the masked "Internal server error" (a bug behind it) or says UNAVAILABLE;
- the server logs no failure of its own (tests/support/server_log.py);
- nothing is stored: the row count of every table is what it was. Some inputs are real
  requests that succeed (a well-typed message body mostly is: arbitrary text is mostly
  valid text), and those legitimately store. So the rule is: an example whose answer is
  an error, a userError or a refusal stored nothing; one with a mutation payload without
  userErrors (or a webhook 200 that was no duplicate) may change the counts, and the next
  example compares with the counts after it. What such an example stored is checked
  against what was sent (a message's body, the webhook's message and its retry).
  The admin, whom the good request below is sent as, is never the target of an
  arbitrary id (an arbitrary `updateUser` must not deactivate them); the other members
  may be changed by a valid example, which later examples then meet;
- afterwards the server still serves a good request (a query that reads the database as
  the admin; over a WebSocket, a fresh socket acknowledged and running one).

Inputs that met a bug the properties found have a test each of their own.

Both GraphQL paths (compiled documents in front, or not) and both backends (SQLite and the
in-memory bus; PostgreSQL and Redis) by the fixtures. `--hypothesis-show-statistics` shows
how the answers were spread (the events): how many got past the type checks."""
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, quote_from_bytes

import httpx
import pytest
from graphql import (
    GraphQLError,
    OperationType,
    get_operation_ast,
    parse,
)
from hypothesis import HealthCheck, event, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed

from models import Message, Notification, Role
from server.settings import Settings
from server.webhook import sign
from tests.support.arbitrary import (
    encodable_text,
    json_scalars,
    json_values,
    nasty_text,
    short_nasty_text,
    variables_for,
)
from tests.support.bad_input import (
    GRAPHQL_JSON,
    Example,
    assert_graphql_answer,
    assert_not_failed,
    examining,
    mutation_succeeded,
    outcome,
)
from tests.support.documents import operation
from tests.support.graphql_path import compiled_path_only
from tests.support.http import data, mutate
from tests.support.live import LiveServer, running_server
from tests.support.raw_ws import ABNORMAL_CLOSURE, HANG_GUARD, Closed, RawSocket, raw_socket
from tests.support.server_log import capturing_failures
from tests.support.stored import row_counts
from tests.support.teams import Team, make_team
from tests.support.webhook import inbound, post_webhook

MAX_BODY_BYTES = Settings().max_body_bytes
INVALID_MESSAGE, UNAUTHORIZED, FORBIDDEN, DUPLICATE_ID, TOO_MANY_INITS = 4400, 4401, 4403, 4409, 4429
STREAMS_AND_PAGES = ("multipart/mixed", "text/event-stream", "text/html")

QUERIES = ["InboxPage", "InboxView", "InboxCounts", "ConversationThread", "Notifications", "TeamMembers", "Viewer"]
# Every mutation with arguments but setAccountPlan (an enum alone: a valid one would only
# take the team's features away from later examples).
MUTATIONS = ["Login", "SendMessage", "CreateUser", "UpdateUser", "AssignConversation", "SetConversationStatus",
             "SetTyping", "MarkNotificationsRead"]
OPERATIONS = QUERIES + MUTATIONS

# Each example takes milliseconds (a request in-process, a socket to a local server): the
# whole file runs in seconds on either backend.
MANY = hypothesis_settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SOME = hypothesis_settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


# --- the accounts the examples act in ----------------------------------------------------

@dataclass
class World:
    team: Team  # its admin, an agent (bob) and an analyst (ana)
    other: Team  # another account: its ids must be simply not found
    conversation: str  # the team's customer conversation, assigned to bob
    more_ids: tuple[str, ...]  # the other account's conversation, bob's notification

    @property
    def real_ids(self) -> list[str]:
        return [self.team["bob"].id, self.team["ana"].id, self.conversation, self.other.admin.id, *self.more_ids]

    @property
    def protected(self) -> set[str]:
        return {self.team.admin.id}

    @property
    def tokens(self) -> dict[str, str | None]:
        return {"admin": self.team.admin.token, "agent": self.team["bob"].token, "analyst": self.team["ana"].token,
                "another account's admin": self.other.admin.token, "nobody": None, "an unknown token": "x" * 43}


async def make_world(client: httpx.AsyncClient) -> World:
    team = await make_team(client, roles={"bob": Role.AGENT, "ana": Role.ANALYST})
    other = await make_team(client)
    conversation = (await inbound(client, team.account, "+14155550123", "Hello"))["conversationId"]
    other_conversation = (await inbound(client, other.account, "+14155550123", "Hello"))["conversationId"]
    await mutate(client, operation("AssignConversation"), {"conversationId": conversation,
                                                          "assigneeId": team["bob"].id}, team.admin.token)
    notification = await Notification.filter(user_id=team["bob"].user.id).first()
    assert notification is not None
    return World(team, other, conversation, (other_conversation, str(notification.id)))


@pytest.fixture
async def world(client) -> World:
    return await make_world(client)


@pytest.fixture
def log(caplog) -> Iterator[pytest.LogCaptureFixture]:
    with capturing_failures(caplog):
        yield caplog


async def assert_serves(client: httpx.AsyncClient, world: World) -> None:
    """A good request, reading the database as the admin, is answered."""
    response = await client.post("/graphql", json={"query": operation("TeamMembers")},
                                 headers=auth(world.team.admin.token))
    assert response.status_code == 200, response.text
    assert data(response.json())["teamMembers"], response.text


def auth(token: str | None) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"} if token else {}


def assert_stream_or_page(response: httpx.Response, accept: str | None, current: Example) -> None:
    """Not GraphQL JSON: then a stream or GraphiQL's page, which only such an Accept gets."""
    assert accept and accept.split(";")[0] in STREAMS_AND_PAGES, (current.what, response.headers)
    assert response.status_code == 200, (current.what, response.text[:500])


def is_graphql_json(response: httpx.Response) -> bool:
    return response.headers.get("content-type", "").split(";")[0] in GRAPHQL_JSON or response.status_code >= 500



@pytest.mark.parametrize(("name", "variables"), [("Notifications", {"unreadOnly": None}),
                                                 ("MarkNotificationsRead", {"all": None})])
async def test_null_for_an_argument_with_a_default_is_a_coded_field_error(client, world, name, variables):
    response = await client.post("/graphql", json={"query": operation(name), "variables": variables},
                                 headers=auth(world.team.admin.token))

    errors = response.json()["errors"]
    assert [error["extensions"]["code"] for error in errors] == ["BAD_USER_INPUT"]
    assert "not to be None" in errors[0]["message"]


# --- HTTP: real operations, any variables -------------------------------------------------

@MANY
@given(choice=st.data())
async def test_any_variables_of_a_real_operation_are_answered_and_store_nothing_unless_it_succeeded(
        client, world, log, choice):
    # given: a real operation, variables of any shape, and who sends it
    name = choice.draw(st.sampled_from(OPERATIONS), label="operation")
    variables = choice.draw(variables_for(operation(name), world.real_ids, world.protected), label="variables")
    sender = choice.draw(st.sampled_from(sorted(world.tokens)), label="as")
    body = json.dumps({"query": operation(name), "variables": variables, "operationName": name})

    async with examining(log, (name, variables, sender)) as current:
        # when
        response = await client.post("/graphql", content=body, headers={
            "content-type": "application/json", **auth(world.tokens[sender])})

        # then
        answer = assert_graphql_answer(response, current)
        event(f"{name}: {outcome(answer)}")
        current.stores = name in MUTATIONS and mutation_succeeded(answer)
        if current.stores and name == "SendMessage":  # stored as sent, trimmed
            sent = data(answer)["sendMessage"]["message"]
            stored = await Message.get(id=int(sent["id"]))
            assert stored.body == sent["body"] == variables["body"].strip(), current.what
    await assert_serves(client, world)


# --- HTTP: any JSON body, any bytes, any query string ---------------------------------------

_persisted_query = st.fixed_dictionaries({"persistedQuery": st.fixed_dictionaries({
    "version": json_values, "sha256Hash": st.one_of(st.text("0123456789abcdef", min_size=64, max_size=64),
                                                    json_values)})})
_bodies = st.one_of(
    json_values,
    st.fixed_dictionaries({}, optional={
        "query": st.one_of(st.sampled_from([operation(name) for name in OPERATIONS]), nasty_text, json_values),
        "variables": json_values,
        "operationName": st.one_of(st.sampled_from(OPERATIONS), json_values),
        "extensions": st.one_of(json_values, _persisted_query),
        "documentId": json_values,
    }),
)
_accepts = st.sampled_from([None, "*/*", "application/json", "application/graphql-response+json", "text/csv",
                            "multipart/mixed;subscriptionSpec=1.0", "text/event-stream", "text/html", ""])


def headers_for(accept: str | None, token: str | None) -> dict[str, str]:
    return {**({"accept": accept} if accept is not None else {}), **auth(token)}


@SOME
@given(body=_bodies, accept=_accepts, sender=st.sampled_from(["admin", "agent", "nobody"]))
# Found by this property: a refusal quoting a lone surrogate was a 500 (UnicodeEncodeError).
@example(body={"query": "{ __typename }", "operationName": "\ud800"}, accept=None, sender="admin")
async def test_any_json_body_is_answered_in_graphql_json_and_stores_nothing_unless_it_succeeded(
        client, world, log, body, accept, sender):
    async with examining(log, (body, accept, sender)) as current:
        response = await client.post("/graphql", content=json.dumps(body), headers={
            "content-type": "application/json", **headers_for(accept, world.tokens[sender])})

        if is_graphql_json(response):
            answer = assert_graphql_answer(response, current)
            event(outcome(answer))
            current.stores = mutation_succeeded(answer)
        else:
            assert_stream_or_page(response, accept, current)
    await assert_serves(client, world)


_json_bytes = json_values.map(lambda value: json.dumps(value).encode())
_raw_bodies = st.one_of(
    st.binary(max_size=200),
    st.sampled_from([b"", b"\xff\xfe", b"\xef\xbb\xbf{}", b'{"query": "{ __typename }"}\x00', b"NaN", b"1e999",
                     b'{"query": 1e999}', b'{"query": "\\ud800"}', b'{"a": 1, "a": 2}', b"[" * 3000, b"{" * 3000,
                     '{"query": "{ __typename }"}'.encode("utf-16"), b"--x\r\nContent-Disposition: form-data\r\n\r\n",
                     b"query=%7B__typename%7D&variables=%ff"]),
    st.tuples(_json_bytes, st.binary(min_size=1, max_size=4), st.integers(0, 100)).map(
        lambda parts: parts[0][:parts[2]] + parts[1] + parts[0][parts[2]:]),  # JSON with bytes spliced in
    _json_bytes,
)
_content_types = st.one_of(
    st.sampled_from(["application/json", "application/json; charset=utf-16", "application/json;charset=latin-1",
                     "application/graphql-response+json", "application/graphql", "text/plain", "multipart/form-data",
                     "multipart/form-data; boundary=x", "multipart/mixed", "application/x-www-form-urlencoded",
                     "application/octet-stream", "", "application/json; boundary=", ";", "*/*"]),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30),
)


@SOME
@given(body=_raw_bodies, content_type=_content_types, accept=_accepts)
async def test_any_bytes_under_any_content_type_get_a_graphql_json_refusal_or_answer(
        client, world, log, body, content_type, accept):
    async with examining(log, (body[:300], content_type, accept)) as current:
        response = await client.post("/graphql", content=body, headers={
            "content-type": content_type, **headers_for(accept, world.tokens["admin"])})

        if is_graphql_json(response):
            answer = assert_graphql_answer(response, current)
            event(outcome(answer))
            assert not mutation_succeeded(answer), current.what
        else:
            assert_stream_or_page(response, accept, current)
    await assert_serves(client, world)


_query_strings = st.lists(
    st.tuples(st.sampled_from(["query", "variables", "operationName", "extensions", "documentId", "x"]),
              st.one_of(short_nasty_text.map(lambda text: quote(text, errors="surrogatepass")),
                        st.binary(max_size=20).map(quote_from_bytes),
                        st.sampled_from([operation(name) for name in QUERIES]).map(quote))),
    max_size=4,
).map(lambda pairs: "&".join(f"{key}={value}" for key, value in pairs))
_authorizations = st.one_of(
    st.none(), st.binary(max_size=60).filter(lambda raw: not {0, 10, 13} & set(raw)),
    st.sampled_from([b"Bearer", b"Bearer ", b"Basic abc", b"Bearer \xe9\xff", b"Bearer " + b"x" * 10_000]),
)


@SOME
@given(query_string=_query_strings, accept=_accepts, authorization=_authorizations)
async def test_any_get_request_is_answered_and_stores_nothing(client, world, log, query_string, accept, authorization):
    headers: dict[str, str | bytes] = {**({"accept": accept} if accept is not None else {}),
                                       **({"authorization": authorization} if authorization is not None else {})}
    async with examining(log, (query_string[:300], accept, authorization)) as current:
        response = await client.get(f"/graphql?{query_string}", headers=headers)

        if is_graphql_json(response):
            event(outcome(assert_graphql_answer(response, current)))
        else:
            assert_stream_or_page(response, accept, current)
    await assert_serves(client, world)


# --- the webhook --------------------------------------------------------------------------

MISSING = object()  # the field is left out of the body
PHONES = ["+14155550123", "+14155550199", "+442071838750", "0044 20 7183 8750", "+61 2 9876 5432"]
_storable = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=40)  # no lone surrogates
_times = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC))
_not_strings = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                         st.lists(json_values, max_size=2),
                         st.dictionaries(st.text(max_size=4), json_values, max_size=2))
_no_digits = st.text(st.characters(exclude_categories=("Cs", "Nd")), max_size=20)  # no phone, no time
_blank = st.sampled_from(["", " ", "\t\n", "\u3000"])
_with_nul = st.tuples(_storable, st.just("\x00"), _storable).map("".join)
# Each field of an inbound message: values valid by construction, and invalid ones.
VALID = {
    "id": st.tuples(st.just("ext-"), _storable).map("".join),
    "from": st.sampled_from(PHONES),
    "to": st.sampled_from(PHONES),
    "body": st.tuples(st.text("abcé😀 ", min_size=1, max_size=3).filter(str.strip), _storable).map("".join),
    "receivedAt": st.one_of(st.just(MISSING), st.none(), _times.map(datetime.isoformat),
                            _times.map(lambda at: at.strftime("%Y-%m-%dT%H:%M:%SZ")),
                            _times.map(lambda at: at.astimezone(timezone(timedelta(hours=-11))).isoformat())),
}
INVALID = {
    "id": st.one_of(st.just(MISSING), _not_strings, _blank, st.just("x" * 201), _with_nul),
    "from": st.one_of(st.just(MISSING), _not_strings, _blank, _no_digits, st.just("+1")),
    "to": st.one_of(st.just(MISSING), _not_strings, _blank, _no_digits, st.just("12345")),
    "body": st.one_of(st.just(MISSING), _not_strings, _blank, st.just("x" * 1601), _with_nul),
    "receivedAt": st.one_of(st.booleans(), st.integers(), st.lists(json_values, max_size=2), _no_digits,
                            st.sampled_from(["2026-01-01T00:00:00", "0001-01-01T00:00:00+14:00",
                                             "9999-12-31T23:59:59-14:00", "2026-13-01T00:00:00Z", "yesterday"])),
}


def _field(name: str) -> st.SearchStrategy[tuple[str, object]]:
    """(how it was made, value): valid (three times in five, so that later fields are
    reached: the first wrong one is named), invalid, or anything at all (either)."""
    valid = VALID[name].map(lambda value: ("valid", value))
    return st.one_of(valid, valid, valid, INVALID[name].map(lambda value: ("invalid", value)),
                     json_values.map(lambda value: ("any", value)))


_objects = st.fixed_dictionaries({name: _field(name) for name in VALID},
                                 optional={"extra": json_values.map(lambda value: ("valid", value))})
_webhook_bodies = st.one_of(
    _objects, _objects, _objects,
    st.one_of(json_scalars, st.lists(json_values, max_size=4)).map(lambda value: ("not an object", value)),
)


def holds_lone_surrogate(value: object) -> bool:
    if isinstance(value, str):
        return any(0xD800 <= ord(char) <= 0xDFFF for char in value)
    if isinstance(value, dict):
        return any(holds_lone_surrogate(key) or holds_lone_surrogate(item) for key, item in value.items())
    if isinstance(value, list):
        return any(holds_lone_surrogate(item) for item in value)
    return False


@compiled_path_only
@MANY
@given(drawn=_webhook_bodies)
async def test_a_signed_webhook_body_of_any_shape_stores_a_message_only_when_valid(client, world, log, drawn):
    # given: a body signed with the account's secret
    if isinstance(drawn, tuple):  # not an object at all
        kinds, payload = {}, drawn[1]
    else:
        kinds = {name: kind for name, (kind, _) in drawn.items()}
        payload = {name: value for name, (_, value) in drawn.items() if value is not MISSING}
    body = json.dumps(payload).encode()
    account = world.team.account
    not_valid = {name for name, kind in kinds.items() if kind != "valid"}

    async with examining(log, payload) as current:
        # when
        response = await post_webhook(client, account.id, body, sign(account.webhook_secret, body))

        # then
        answer = response.json()
        event(f"{response.status_code} {answer.get('field', '')}")
        if len(body) > MAX_BODY_BYTES:  # huge text: refused before it is read
            assert (response.status_code, answer) == (413, {"error": "request body too large"}), payload
        elif response.status_code == 422:
            assert isinstance(answer["error"], str) and answer["error"], (payload, answer)
            if holds_lone_surrogate(payload) or not isinstance(payload, dict):
                assert answer["field"] is None, (payload, answer)  # the body itself, refused whole
            else:
                assert answer["field"] in not_valid, (payload, answer)  # a field that could be wrong
        else:
            assert response.status_code == 200, (payload, response.status_code, answer)
            assert isinstance(payload, dict) and not holds_lone_surrogate(payload), (payload, answer)
            assert "invalid" not in kinds.values(), (payload, answer)
            current.stores = not answer["duplicate"]
            if current.stores:
                stored = await Message.get(id=int(answer["messageId"]))
                assert (stored.body, stored.external_id) == (payload["body"].strip(), payload["id"].strip()), payload
            # and delivered again (a provider's retry), it is a duplicate that stores nothing
            counts = await row_counts()
            again = await post_webhook(client, account.id, body, sign(account.webhook_secret, body))
            assert (again.status_code, again.json()) == (200, {**answer, "duplicate": True}), payload
            assert await row_counts() == counts, payload
        if not not_valid and isinstance(payload, dict) and len(body) <= MAX_BODY_BYTES:  # valid by construction
            assert response.status_code == 200, (payload, answer)
    await assert_serves(client, world)


_account_paths = st.one_of(
    st.sampled_from(["0", "01", "-1", "+1", "1.0", "2147483648", "9" * 40, "%00", "%2F", "%ff", "OTHER"]),
    encodable_text.map(lambda text: quote(text, safe="")),
)
_signatures = st.one_of(
    st.none(), st.sampled_from([b"", b"sha256=", b"sha256=" + b"0" * 64, b"SHA256=", b"sha256=\xe9", b"md5=abc",
                                b"OTHER SECRET", b"UPPER CASE"]),
    st.binary(max_size=80).filter(lambda raw: not {0, 10, 13} & set(raw)),
)


@compiled_path_only
@SOME
@given(path=_account_paths, signature=_signatures, payload=json_values)
async def test_a_webhook_for_the_wrong_account_or_signature_is_refused_and_stores_nothing(
        client, world, log, path, signature, payload):
    body = json.dumps(payload).encode()
    account = world.team.account
    if path == "OTHER":  # another account's id, signed with this account's secret
        path, signature = str(world.other.account.id), sign(account.webhook_secret, body).encode()
    elif signature == b"OTHER SECRET":  # this account, signed with another account's secret
        path, signature = str(account.id), sign(world.other.account.webhook_secret, body).encode()
    elif signature == b"UPPER CASE":  # this account's signature, in the wrong case
        path, signature = str(account.id), sign(account.webhook_secret, body).upper().encode()
    headers: dict[str, str | bytes] = {"content-type": "application/json"}
    if signature is not None:
        headers["x-signature"] = signature

    async with examining(log, (path, signature, payload)) as current:
        response = await client.post(f"/webhooks/inbound/{path}", content=body, headers=headers)

        if len(body) > MAX_BODY_BYTES:  # refused before it is read, whoever sent it
            assert (response.status_code, response.json()) == (413, {"error": "request body too large"}), current.what
        else:
            # 404: no such route (an encoded slash, say); 307: Starlette sends a path that
            # ends in one to the same path without it, which is then refused in turn.
            assert response.status_code in (307, 401, 404), (current.what, response.status_code, response.text)
        if response.status_code == 401:
            assert response.json() == {"error": "invalid signature"}, current.what
    await assert_serves(client, world)


# --- the WebSocket ------------------------------------------------------------------------

class EchoTolerantSocket(RawSocket):
    """Frames read with the standard library's parser, as JSON.parse reads them: an error
    may quote a client's lone surrogate back as it was sent (the JSON escape "\\ud800"),
    which orjson refuses."""

    async def receive(self) -> dict:
        message = json.loads(await asyncio.wait_for(self.socket.recv(), HANG_GUARD))
        self.received.append(message)
        return message


@dataclass
class LiveWorld:
    server: LiveServer
    world: World

    @asynccontextmanager
    async def socket(self) -> AsyncIterator[RawSocket]:
        """A socket as a browser on the server's own origin opens it."""
        async with raw_socket(self.server.ws_url, origin=self.server.http_url) as socket:
            yield EchoTolerantSocket(socket.socket)


@pytest.fixture
async def live(settings) -> AsyncIterator[LiveWorld]:
    async with running_server(settings) as server, server.http() as http:
        yield LiveWorld(server, await make_world(http))


async def assert_socket_serves(live: LiveWorld) -> None:
    """A fresh socket is acknowledged and runs an operation that reads the database."""
    async with live.socket() as socket:
        await socket.acknowledged(live.world.team.admin.token)
        await socket.subscribe("check", operation("EventCursor"))
        answer = await socket.wait_for(lambda message: message.get("id") == "check")
        assert answer["type"] == "next" and answer["payload"]["data"]["eventCursor"], answer
        await socket.pong()


def graphql_errors(received: list[dict]) -> list[Any]:
    """The GraphQL errors and userErrors of every `error` and `next` message."""
    found: list[Any] = []
    for message in received:
        payload = message.get("payload")
        if message.get("type") == "error" and isinstance(payload, list):
            found.extend(payload)
        elif message.get("type") == "next" and isinstance(payload, dict):
            found.extend(payload.get("errors") or [])
            for field in (payload.get("data") or {}).values():
                if isinstance(field, dict):
                    found.extend(field.get("userErrors") or [])
    return found


def stored_by_a_mutation(received: list[dict]) -> bool:
    return any(message.get("type") == "next" and isinstance(message.get("payload"), dict)
               and mutation_succeeded(message["payload"]) for message in received)


@contextmanager
def quiet_client() -> Iterator[None]:
    """The `websockets` client logs a close that meets a frame it is still sending: the
    client's affair, not a failure of the server's."""
    logger = logging.getLogger("websockets.client")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


# Why a socket may be closed for what it was sent: a malformed frame; a subscribe before
# the connection is acknowledged; a connection_init without a valid token; an operation id
# already running; a second connection_init.
ALLOWED_CLOSES = {INVALID_MESSAGE, UNAUTHORIZED, FORBIDDEN, DUPLICATE_ID, TOO_MANY_INITS}
REAL_SUBSCRIBE = "a real operation with variables of any shape"  # drawn in the test


def as_json(value: object) -> tuple[str, object]:
    return ("json", value)


_frames = st.one_of(
    json_values.map(as_json),
    # text that is no JSON (a text frame carries UTF-8 only: no lone surrogates here)
    st.one_of(encodable_text, st.sampled_from(["{", "[1,", '{"type": "ping"', "ping", "\x00", "{'type': 1}"])).map(
        lambda text: ("text", text)),
    st.fixed_dictionaries(
        {"type": st.one_of(st.sampled_from(["subscribe", "complete", "ping", "pong", "connection_init", "next",
                                            "error", "start", "connection_ack"]), nasty_text)},
        optional={"id": st.one_of(st.text(max_size=4), nasty_text, json_values), "payload": json_values},
    ).map(as_json),
    st.fixed_dictionaries({"type": st.just("connection_init"), "payload": st.fixed_dictionaries({
        "authorization": st.one_of(nasty_text.map(lambda text: f"Bearer {text}"), json_values)})}).map(as_json),
    st.fixed_dictionaries({"type": st.just("subscribe"), "id": st.sampled_from(["a", "b"]), "payload": (
        st.fixed_dictionaries({"query": st.one_of(st.sampled_from([operation(name) for name in (
            *OPERATIONS, "InboxEvents", "ConversationEvents", "NotificationAdded", "EventCursor")]),
            nasty_text, json_values)},
            optional={"variables": json_values, "operationName": json_values, "extensions": json_values}))}).map(
        as_json),
    *[st.just(("real", REAL_SUBSCRIBE))] * 3,  # operations that run, more often than not
)


async def exchange(
    live: LiveWorld, acknowledged: bool, frames: list[tuple[str, object]]
) -> tuple[list[dict], Closed | None]:
    """Open a socket (acknowledged, or not), send the frames, then a ping; let what they
    started end before the socket closes. The socket's received messages, and its close
    (None if it stayed open)."""
    async with live.socket() as socket:
        if acknowledged:
            await socket.acknowledged(live.world.team.admin.token)
        try:
            for kind, value in frames:
                if kind == "text":
                    assert isinstance(value, str)
                    await socket.send_raw(value)
                else:
                    await socket.send(value)
            await socket.pong()
            await ended(socket, [value for _, value in frames if isinstance(value, dict)])
        except ConnectionClosed:
            return socket.received, await socket.closed()
    return socket.received, None


async def ended(socket: RawSocket, frames: list[dict]) -> None:
    """Every operation the frames started has ended: a subscription completed by the
    client, anything else (a query, a mutation, a document that cannot run) waited for
    until it ends by itself. (Completing an operation that is awaiting Redis would meet
    the bug test_an_operation_completed_while_it_awaits_redis_logs_no_error keeps.)"""
    started = [frame for frame in frames if frame.get("type") == "subscribe" and isinstance(frame.get("id"), str)
               and frame["id"] and isinstance(frame.get("payload"), dict)]
    for operation_id in dict.fromkeys(frame["id"] for frame in started):
        mine = [frame for frame in started if frame["id"] == operation_id]
        if any(runs_until_stopped(frame["payload"]) for frame in mine):
            await socket.stop(operation_id)
            continue
        while sum(message.get("id") == operation_id and message.get("type") in ("complete", "error")
                  for message in socket.received) < len(mine):
            await socket.receive()


def runs_until_stopped(payload: dict) -> bool:
    """Whether the payload names a subscription, which runs until the client completes it."""
    query, name = payload.get("query"), payload.get("operationName")
    if not isinstance(query, str):
        return False
    try:
        node = get_operation_ast(parse(query), name if isinstance(name, str) else None)
    except GraphQLError:
        return False
    return node is not None and node.operation == OperationType.SUBSCRIPTION


@MANY
@given(acknowledged=st.sampled_from([True, True, True, False]), frames=st.lists(_frames, min_size=1, max_size=3),
       choice=st.data())
async def test_any_text_frames_get_protocol_answers_or_a_close_code_and_the_server_serves_on(
        live, log, acknowledged, frames, choice):
    # given: the frames, a real subscribe's operation and variables drawn here
    world = live.world
    sent = []
    for kind, value in frames:
        if kind == "real":
            name = choice.draw(st.sampled_from(OPERATIONS), label="operation")
            variables = choice.draw(variables_for(operation(name), world.real_ids, world.protected), label="variables")
            kind, value = "json", {"type": "subscribe", "id": "r", "payload": {
                "query": operation(name), "variables": variables}}
        sent.append((kind, value))

    with quiet_client():
        async with examining(log, (acknowledged, sent)) as current:
            # when
            received, closed = await exchange(live, acknowledged, sent)

            # then: a close has a code the protocol gives and says why; no answer is a failure
            event("open" if closed is None else f"closed {closed.code}")
            assert closed is None or closed.code in ALLOWED_CLOSES, (current.what, closed, received)
            assert closed is None or closed.code != INVALID_MESSAGE or closed.reason, current.what
            assert_not_failed(graphql_errors(received), current)
            current.stores = stored_by_a_mutation(received)
        await assert_socket_serves(live)


def subscribe(operation_id: str) -> dict:
    return {"type": "subscribe", "id": operation_id, "payload": {"query": operation("InboxEvents")}}


@pytest.mark.parametrize(("acknowledged", "frames", "code"), [
    pytest.param(False, [{"type": "x" * 200}], INVALID_MESSAGE, id="an unknown type past a close reason's 123 bytes"),
    pytest.param(False, [{"type": "\ud800"}], INVALID_MESSAGE, id="an unknown type with a lone surrogate"),
    pytest.param(True, [subscribe("x" * 100)] * 2, INVALID_MESSAGE, id="an id past what the 4409 reason can echo"),
    pytest.param(True, [subscribe("a\ud800")] * 2, INVALID_MESSAGE, id="an id with a lone surrogate"),
    pytest.param(True, [subscribe("é" * 32)] * 2, DUPLICATE_ID, id="a reused id of 64 bytes"),
    pytest.param(False, [{"type": "connection_init", "payload": {"authorization": "Bearer \ud800"}}], FORBIDDEN,
                 id="a token with a lone surrogate"),
])
async def test_client_text_no_close_reason_can_carry_still_gets_a_close_code(live, log, acknowledged, frames, code):
    # Found by the property above: Strawberry echoed such text into the close reason,
    # which then could not be sent (1006, and a traceback in the server's log).
    async with examining(log, frames):
        received, closed = await exchange(live, acknowledged, [as_json(frame) for frame in frames])

        assert closed is not None and closed.code == code and closed.code != ABNORMAL_CLOSURE, (closed, received)
        assert closed.reason and len(closed.reason.encode()) <= 123, closed
    await assert_socket_serves(live)


# On Redis an operation the client completes while it awaits a Redis command was often
# not cancelled: redis-py awaits through asyncio.wait_for, and Python 3.11's wait_for,
# cancelled once the awaited future is done, returns its result instead of raising. The
# operation ran on, and Strawberry's last `complete` for it raised KeyError (logged with a
# traceback). server/ws_handler.py now sends nothing more for a completed operation and
# forgets its id quietly. A login awaits Redis (the throttle's counts) on every try.
async def test_an_operation_completed_while_it_awaits_redis_logs_no_error(live, log):
    async with examining(log, "logins completed by the client while they run"):
        for attempt in range(30):
            async with live.socket() as socket:
                await socket.acknowledged(live.world.team.admin.token)
                await socket.subscribe("login", operation("Login"), {"email": f"nobody{attempt}@x.test",
                                                                     "password": "not the password"})
                await socket.pong()  # the login's task has begun
                await socket.stop("login")
