"""Third-party clients in their default configurations against a real server: Apollo
Client (InMemoryCache, HttpLink, PersistedQueryLink, GraphQLWsLink), urql (its default
exchanges; Graphcache for a normalized cache), graphql-ws alone, and Python's gql.

Each logs in through its client, pages the inbox, reads the counts and subscribes; then
another member assigns a conversation and a customer writes (signed webhook), and the
client's own cache must show the new assignee, last message and counts without asking
the server again. Across a server restart (same port, same database; a customer writes
meanwhile, through another instance) the client reconnects by itself and, with the
README's resume recipe, receives the missed message exactly once.

The Node clients are installed from package-lock.json by tests.support.node_clients;
these tests skip, saying why, where node or npm is absent or the install fails."""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from gql import Client, GraphQLRequest
from gql import gql as parse
from gql.transport.httpx import HTTPXAsyncTransport
from gql.transport.websockets import WebsocketsTransport

from tests.support.documents import operation
from tests.support.http import data, gql, mutate
from tests.support.live import EventCollector, running_server
from tests.support.node_clients import NodeClients, node_clients_or_skip
from tests.support.node_scenario import Line, NodeScenario, node_scenario
from tests.support.restartable import RestartableServer, restartable_server
from tests.support.teams import PASSWORD, Team, make_team
from tests.support.webhook import inbound

ASSIGN = operation("AssignConversation")


@pytest.fixture(scope="module")
def clients() -> NodeClients:
    return node_clients_or_skip()


@pytest.fixture
async def server(settings: Any) -> AsyncIterator[RestartableServer]:
    async with restartable_server(settings) as running:
        yield running


def event(line: Line) -> dict[str, Any]:
    data: dict[str, Any] = line.get("data") or {}
    return next(iter(data.values()), {}) or {}


def is_event(kind: str, **fields: Any) -> Any:
    def matches(line: Line) -> bool:
        if line.get("type") != "event" or event(line).get("__typename") != kind:
            return False
        value = event(line)
        return all(_path(value, key) == expected for key, expected in fields.items())
    return matches


def _path(value: Any, dotted: str) -> Any:
    for key in dotted.split("__"):
        value = (value or {}).get(key)
    return value


def node_of(inbox: dict[str, Any], conversation_id: str) -> dict[str, Any]:
    nodes = [edge["node"] for edge in inbox["inbox"]["edges"] if edge["node"]["id"] == conversation_id]
    assert len(nodes) == 1, f"conversation {conversation_id} not (once) in the cached inbox: {inbox}"
    return nodes[0]


async def open_inbox(http: httpx.AsyncClient) -> tuple[Team, str, str]:
    """A team whose inbox has two unassigned conversations."""
    team = await make_team(http)
    first = (await inbound(http, team.account, "+14155550701", "First"))["conversationId"]
    second = (await inbound(http, team.account, "+14155550702", "Second"))["conversationId"]
    return team, first, second


async def subscribed(client: NodeScenario) -> Line:
    """The client's "ready" line. It subscribed `after` Query.eventCursor, so whatever
    happens from now on reaches it, however long the subscribe takes to register."""
    ready = await client.next(lambda line: line["type"] == "ready", "the client to log in, query and subscribe")
    assert ready["after"], ready
    return ready


async def assign_and_write(client: NodeScenario, http: httpx.AsyncClient, team: Team, conversation: str) -> None:
    """Carol assigns the conversation to Bob, then its customer writes; the client sees both."""
    bob, carol = team["bob"], team["carol"]
    await mutate(http, ASSIGN, {"conversationId": conversation, "assigneeId": bob.id}, carol.token)
    await client.next(is_event("ConversationAssigned", conversation__id=conversation), "the assignment event")
    await client.next(is_event("InboxCountsChanged", counts__mine=1), "the new counts")
    await inbound(http, team.account, "+14155550701", "Are you there?")
    await client.next(is_event("MessageAdded", message__body="Are you there?"), "the customer's message")


def assert_cache_is_current(snapshot: Line, team: Team, conversation: str) -> None:
    row = node_of(snapshot["inbox"], conversation)
    assert row["assignee"] and row["assignee"]["id"] == team["bob"].id, row
    assert row["lastMessage"] and row["lastMessage"]["body"] == "Are you there?", row
    counts = snapshot["counts"]["inboxCounts"]
    assert (counts["mine"], counts["unassigned"], counts["all"]) == (1, 1, 2), counts
    assert snapshot["requestsSinceReady"] == [], "the client asked the server again"


async def restart_while_a_customer_writes(server: RestartableServer, team: Team, body: str) -> None:
    """Stop the server; the customer's message reaches another instance (same database)
    meanwhile; start the server again on the same port."""
    await server.stop()
    async with running_server(server.settings) as other, other.http() as http:
        await inbound(http, team.account, "+14155550701", body)
    await server.start()


async def assert_resumed_exactly_once(client: NodeScenario, server: RestartableServer, team: Team) -> None:
    await restart_while_a_customer_writes(server, team, "While you were away")
    await client.next(lambda line: line["type"] == "connected" and line["wasRetry"], "the client to reconnect",
                      timeout=15)
    await client.next(is_event("MessageAdded", message__body="While you were away"), "the missed message")
    async with server.http() as http:
        await inbound(http, team.account, "+14155550701", "Back live")
    await client.next(is_event("MessageAdded", message__body="Back live"), "a live message after the restart")
    bodies = [event(line)["message"]["body"] for line in client.lines if is_event("MessageAdded")(line)]
    assert bodies.count("While you were away") == 1, bodies
    assert bodies.count("Are you there?") == 1, bodies
    cursors = [event(line)["cursor"] for line in client.lines if line["type"] == "event" and "cursor" in event(line)]
    assert len(cursors) == len(set(cursors)), "an event was delivered twice"


def client_config(server: RestartableServer, team: Team) -> dict[str, Any]:
    return {"httpUrl": server.http_url, "wsUrl": server.ws_url, "email": team["bob"].user.email, "password": PASSWORD}


async def test_apollo_client_cache_follows_events_and_resumes_after_a_restart(clients, server):
    async with server.http() as http:
        # given: Bob's Apollo Client has logged in, paged the inbox, read the counts, subscribed
        team, first, _ = await open_inbox(http)
        async with node_scenario(clients, "apollo.mjs", client_config(server, team)) as apollo:
            ready = await subscribed(apollo)

            # when: Carol assigns a conversation to him and its customer writes
            await assign_and_write(apollo, http, team, first)

            # then: his normalized cache shows it, with no request after the first queries
            snapshot = await apollo.ask("snapshot")
            assert_cache_is_current(snapshot, team, first)
            assert not [w for w in snapshot["warnings"] if "Cache data may be lost" in w], snapshot["warnings"]
            assert snapshot["viewer"]["viewer"]["user"]["id"] == team["bob"].id
            assert_persisted_queries_work(ready["requests"])

            # and: a restart is resumed without loss or duplicate
            await assert_resumed_exactly_once(apollo, server, team)


def assert_persisted_queries_work(requests: list[dict[str, Any]]) -> None:
    """Apollo's link sends a hash alone, the server asks for the text once, then serves the hash."""
    pages = [r for r in requests if r["operationName"] == "InboxPage"]
    assert [(r["hasQuery"], bool(r["persistedHash"])) for r in pages] == [(False, True), (True, True), (False, True)], \
        pages
    assert pages[0]["errorCodes"] == ["PERSISTED_QUERY_NOT_FOUND"], pages[0]
    assert pages[2]["status"] == 200 and pages[2]["errorCodes"] == [], pages[2]


async def test_urql_with_its_default_exchanges_queries_over_get_and_resumes_after_a_restart(clients, server):
    async with server.http() as http:
        # given: Bob's urql client (cacheExchange, fetchExchange, subscriptionExchange over graphql-ws)
        team, first, _ = await open_inbox(http)
        async with node_scenario(clients, "urql.mjs", {**client_config(server, team), "cache": "document"}) as urql:
            ready = await subscribed(urql)
            queries = [r for r in ready["requests"] if r["operationName"] in ("InboxPage", "InboxCounts")]
            assert [(r["method"], r["status"], r["errorCodes"]) for r in queries] == [("GET", 200, [])] * 2, queries

            # when
            await assign_and_write(urql, http, team, first)

            # then: the events carry the row as it is now; urql's document cache only
            # re-runs queries on mutation results, so the cached page itself stays as fetched
            message = event(urql.lines[-1])
            assert message["conversation"]["assignee"]["id"] == team["bob"].id, message
            snapshot = await urql.ask("snapshot")
            assert snapshot["requestsSinceReady"] == []

            # and
            await assert_resumed_exactly_once(urql, server, team)


async def test_urql_graphcache_follows_events_without_a_request(clients, server):
    async with server.http() as http:
        # given: Bob's urql client with Graphcache, urql's normalized cache, and the shipped possibleTypes
        team, first, _ = await open_inbox(http)
        async with node_scenario(clients, "urql.mjs", {**client_config(server, team), "cache": "graphcache"}) as urql:
            await subscribed(urql)

            # when
            await assign_and_write(urql, http, team, first)

            # then
            assert_cache_is_current(await urql.ask("snapshot"), team, first)


async def test_graphql_ws_alone_resumes_after_a_restart_exactly_once(clients, server):
    async with server.http() as http:
        # given: Bob's graphql-ws client, subscribed after the newest event (Query.eventCursor)
        team, first, _ = await open_inbox(http)
        bob = team["bob"]
        cursor = data(await gql(http, operation("EventCursor"), token=bob.token))["eventCursor"]
        config = {"wsUrl": server.ws_url, "token": bob.token, "after": cursor}
        async with node_scenario(clients, "graphql_ws.mjs", config) as client:
            await subscribed(client)

            # when / then: he sees what happens, and a restart loses and repeats nothing
            await assign_and_write(client, http, team, first)
            await assert_resumed_exactly_once(client, server, team)


def request(document: str, variables: dict[str, Any]) -> GraphQLRequest:
    parsed = parse(document)
    parsed.variable_values = variables
    return parsed


async def test_gql_logs_in_pages_the_inbox_and_receives_an_event(settings):
    async with running_server(settings) as server, server.http() as http:
        # given: a team; Bob uses Python's gql with its default transports
        team, first, _ = await open_inbox(http)
        bob = team["bob"]
        async with Client(transport=HTTPXAsyncTransport(url=server.http_url + "/graphql")) as anonymous:
            credentials = {"email": bob.user.email, "password": PASSWORD}
            login = await anonymous.execute(request(operation("Login"), credentials))
        token = login["login"]["token"]
        authorized = HTTPXAsyncTransport(url=server.http_url + "/graphql", headers={"authorization": f"Bearer {token}"})
        async with Client(transport=authorized) as session:
            page = await session.execute(request(operation("InboxPage"), {"first": 50}))
            after = (await session.execute(parse(operation("EventCursor"))))["eventCursor"]
        assert {edge["node"]["id"] for edge in page["inbox"]["edges"]} >= {first}
        socket = WebsocketsTransport(url=server.ws_url, init_payload={"authorization": f"Bearer {token}"})
        async with Client(transport=socket) as live:
            inbox = EventCollector(live, operation("InboxEvents"), {"after": after})

            # when: Carol assigns a conversation to him
            await mutate(http, ASSIGN, {"conversationId": first, "assigneeId": bob.id}, team["carol"].token)

            # then
            assigned = await inbox.wait_for(lambda item: item["inboxEvents"]["__typename"] == "ConversationAssigned")
            await inbox.stop()
        assert assigned["inboxEvents"]["conversation"]["id"] == first
        assert assigned["inboxEvents"]["assignee"]["id"] == bob.id
