"""Subscriptions without WebSockets, as stock clients send them in their documented
configurations: Apollo Client with only an HttpLink (which speaks Apollo's multipart
subscription protocol by itself), and urql with `fetchSubscriptions: true` on its
fetchExchange. Neither script opens a WebSocket (none is imported; Node 20 has no global).

Each logs in, pages the inbox and subscribes to InboxEvents after Query.eventCursor, over
HTTP; another member assigns and a customer writes (signed webhook), and the events
arrive on that stream (and, in a normalized cache, show in the cached rows and counts with
no further request). Then the member logs out from elsewhere: the stream ends, and
subscribing again with the old token is refused as UNAUTHENTICATED.

The shared scenario steps are tests/test_stock_clients.py's; the Node clients come from
tests.support.node_clients (skipped, saying why, where node or npm is absent)."""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.documents import operation
from tests.support.http import mutate
from tests.support.live import LiveServer, running_server
from tests.support.node_clients import NodeClients, node_clients_or_skip
from tests.support.node_scenario import Line, NodeScenario, node_scenario
from tests.support.teams import PASSWORD, Team
from tests.test_stock_clients import assert_cache_is_current, assign_and_write, event, open_inbox


@pytest.fixture(scope="module")
def clients() -> NodeClients:
    return node_clients_or_skip()


@pytest.fixture
async def server(settings: Any) -> AsyncIterator[LiveServer]:
    async with running_server(settings) as running:
        yield running


def client_config(server: LiveServer, team: Team, **options: Any) -> dict[str, Any]:
    return {"httpUrl": server.http_url, "email": team["bob"].user.email, "password": PASSWORD, **options}


def assert_streamed_over_http(subscription: Line, content_type: str) -> None:
    """The subscription went out as a POST asking for a stream, and the answer is a
    stream of that type: Apollo's multipart protocol, or Server-Sent Events for urql."""
    assert subscription["operationName"] == "InboxEvents", subscription
    assert subscription["method"] == "POST" and subscription["status"] == 200, subscription
    assert "multipart/mixed" in (subscription["accept"] or ""), subscription
    assert subscription["streamed"] and subscription["contentType"].startswith(content_type), subscription


def ended(line: Line) -> bool:
    """Apollo's observable completing or erroring; urql's result source ending."""
    return line["type"] in ("subscriptionComplete", "subscriptionError", "subscriptionEnd")


async def log_out_elsewhere(client: NodeScenario, server: LiveServer, token: str) -> Line:
    """The member's session is revoked (the Logout mutation with the client's own token,
    sent from Python); the client's stream must end. Returns how it ended."""
    async with server.http() as http:
        revoked = await mutate(http, operation("Logout"), {}, token)
    assert revoked["revoked"] is True, revoked
    return await client.next(ended, "the stream to end after the logout")


async def test_apollo_http_link_alone_streams_events_into_the_cache_and_ends_on_logout(clients, server):
    async with server.http() as http:
        # given: Bob's Apollo Client with only an HttpLink has logged in, paged the inbox,
        # read the counts, and subscribed to his inbox events over HTTP
        team, first, _ = await open_inbox(http)
        async with node_scenario(clients, "apollo_multipart.mjs", client_config(server, team)) as apollo:
            ready = await apollo.next(lambda line: line["type"] == "ready", "the client to log in, query and subscribe")
            assert ready["after"], ready
            assert_streamed_over_http(ready["subscription"], "multipart/mixed")

            # when: Carol assigns a conversation to him and its customer writes
            await assign_and_write(apollo, http, team, first)

            # then: his normalized cache shows it, with no request after the subscription's
            assert_cache_is_current(await apollo.ask("snapshot"), team, first)

            # when: his session is logged out (from elsewhere)
            end = await log_out_elsewhere(apollo, server, ready["token"])

            # then: the stream ended, and a new subscription with that token is refused
            assert end["type"] == "subscriptionComplete", end
            again = await apollo.ask("subscribeAgain")
            assert again["request"]["status"] == 200 and again["request"]["streamed"], again
            assert again["outcome"] == "next" and again["errorCodes"] == ["UNAUTHENTICATED"], again
            assert again["data"] is None, again


@pytest.mark.parametrize("cache", ["document", "graphcache"])
async def test_urql_fetch_subscriptions_streams_events_and_ends_on_logout(clients, server, cache):
    """urql's fetchExchange sends a subscription with `Accept: text/event-stream,
    multipart/mixed` (no subscriptionSpec parameter) and reads either framing: the server
    answers with Server-Sent Events (graphql-sse), in the LF line endings urql reads."""
    async with server.http() as http:
        # given: Bob's urql client, fetchSubscriptions on and no subscriptionExchange, has
        # logged in, paged the inbox and subscribed to his inbox events over HTTP
        team, first, _ = await open_inbox(http)
        async with node_scenario(clients, "urql_multipart.mjs", client_config(server, team, cache=cache)) as urql:
            ready = await urql.next(lambda line: line["type"] == "ready", "the client to log in, query and subscribe")
            assert ready["after"], ready
            assert_streamed_over_http(ready["subscription"], "text/event-stream")

            # when: Carol assigns a conversation to him and its customer writes
            await assign_and_write(urql, http, team, first)

            # then: the events carry the row as it is now, and nothing was asked again.
            # Only Graphcache writes them into the cached page (urql's document cache
            # re-runs queries on mutation results only, as tests/test_stock_clients.py says).
            message = event(urql.lines[-1])
            assert message["conversation"]["assignee"]["id"] == team["bob"].id, message
            snapshot = await urql.ask("snapshot")
            if cache == "graphcache":
                assert_cache_is_current(snapshot, team, first)
            assert snapshot["requestsSinceReady"] == [], snapshot["requestsSinceReady"]

            # when: his session is logged out (from elsewhere)
            end = await log_out_elsewhere(urql, server, ready["token"])

            # then: the stream ended, and a new subscription with that token is refused
            assert end["type"] == "subscriptionEnd", end
            again = await urql.ask("subscribeAgain")
            assert again["request"]["status"] == 200 and again["request"]["streamed"], again
            assert again["outcome"] == "next" and again["errorCodes"] == ["UNAUTHENTICATED"], again
            assert again["data"] is None, again
