"""Subscriptions over HTTP with Apollo's multipart protocol, against a real server: the
stream's heartbeats and payload parts, a customer's message arriving live, the same
authorization, resume and limits as the WebSocket path, a logout ending the stream;
and the answers around it (a subscription over plain POST refused with a coded error,
a query asked for as multipart answered as JSON).
https://www.apollographql.com/docs/graphos/routing/operations/subscriptions/multipart-protocol"""
from __future__ import annotations

from dataclasses import replace

import pytest

from models import Role
from tests.support.documents import operation
from tests.support.http import data, error_codes, gql, mutate
from tests.support.live import EventCollector, running_server, start_cursor, ws_session
from tests.support.multipart import MULTIPART_ACCEPT, multipart_request, multipart_subscription
from tests.support.teams import make_team
from tests.support.webhook import inbound

INBOX_EVENTS = operation("InboxEvents")
EVENT_CURSOR = operation("EventCursor")
LOGOUT = operation("Logout")
ASSIGN = operation("AssignConversation")
CURRENT_USER = operation("CurrentUser")


def event(data_: dict) -> dict:
    return data_["inboxEvents"]


def summary(data_: dict) -> tuple:
    value = event(data_)
    return value["__typename"], (value.get("conversation") or {}).get("id"), (value.get("message") or {}).get("body")


def is_message(conversation: str, body: str | None = None):
    def matches(data_: dict) -> bool:
        kind, conversation_id, message_body = summary(data_)
        return kind == "MessageAdded" and conversation_id == conversation and body in (None, message_body)
    return matches


# --- the stream ------------------------------------------------------------------------

async def test_heartbeats_then_a_customer_message_arrives_as_a_payload_part(settings):
    async with running_server(settings) as server, server.http() as http:
        # given
        team = await make_team(http)
        async with multipart_subscription(http, INBOX_EVENTS, {"after": await start_cursor()},
                                          team["bob"].token) as stream:
            first = await stream.wait_for(lambda part: True)

            # when
            conversation = (await inbound(http, team.account, "+14155550701", "Hello over HTTP"))["conversationId"]

            # then
            received = await stream.wait_for_data(is_message(conversation))
            content_type = stream.response.headers["content-type"]
    assert first.is_heartbeat  # the protocol's keep-alive, sent at once
    assert content_type.startswith("multipart/mixed")
    assert 'boundary="graphql"' in content_type or "boundary=graphql" in content_type
    assert "subscriptionspec=1.0" in content_type.lower().replace('"', "")
    message_added = event(received)
    assert message_added["__typename"] == "MessageAdded"
    assert message_added["message"]["body"] == "Hello over HTTP"
    assert message_added["cursor"]
    assert message_added["conversation"]["lastMessage"]["id"] == message_added["message"]["id"]
    payload_parts = [part for part in stream.parts if not part.is_heartbeat]
    assert all(set(part.body) == {"payload"} for part in payload_parts), payload_parts
    assert all("errors" not in part.body["payload"] for part in payload_parts), payload_parts


async def test_heartbeats_keep_coming_while_nothing_happens(settings):
    # The protocol's heartbeat is what keeps proxies from closing an idle stream.
    async with running_server(settings) as server, server.http() as http:
        team = await make_team(http)
        async with multipart_subscription(http, INBOX_EVENTS, {}, team.admin.token) as stream:
            await stream.wait_for(lambda part: sum(p.is_heartbeat for p in stream.parts) >= 2, timeout=15)

    assert stream.payloads == []  # nothing happened: nothing but heartbeats


async def test_the_stream_names_one_media_type(settings):
    async with running_server(settings) as server, server.http() as http:
        team = await make_team(http)
        async with multipart_subscription(http, INBOX_EVENTS, {}, team.admin.token) as stream:
            content_type = stream.response.headers["content-type"]

    assert "," not in content_type, content_type


async def test_the_body_opens_with_the_boundary(settings):
    async with running_server(settings) as server, server.http() as http:
        team = await make_team(http)
        async with multipart_subscription(http, INBOX_EVENTS, {}, team.admin.token) as stream:
            await stream.wait_for(lambda part: True)

    assert stream.opened_with_boundary is True


# --- authorization: the same as on the WebSocket ---------------------------------------

async def test_without_a_token_the_stream_carries_an_error_and_no_data(settings):
    async with running_server(settings) as server, server.http() as http:
        # given
        team = await make_team(http)
        before = await start_cursor()
        await inbound(http, team.account, "+14155550702", "Not for strangers")

        # when
        async with multipart_subscription(http, INBOX_EVENTS, {"after": before}) as stream:
            errored = await stream.wait_for(lambda part: bool((part.body.get("payload") or {}).get("errors")))
            await stream.wait_end()

    # then
    assert stream.data == []
    assert error_codes(errored.body["payload"]) == ["UNAUTHENTICATED"]
    assert stream.ended


async def test_a_revoked_token_gets_an_error_and_no_data(settings):
    async with running_server(settings) as server, server.http() as http:
        team = await make_team(http)
        token = team["bob"].token
        assert data(await gql(http, LOGOUT, token=token))["logout"]["revoked"] is True
        before = await start_cursor()
        await inbound(http, team.account, "+14155550703", "After the logout")

        async with multipart_subscription(http, INBOX_EVENTS, {"after": before}, token) as stream:
            errored = await stream.wait_for(lambda part: bool((part.body.get("payload") or {}).get("errors")))
            await stream.wait_end()

    assert stream.data == []
    assert error_codes(errored.body["payload"]) == ["UNAUTHENTICATED"]


def through_marker(summaries: list[tuple]) -> list[tuple]:
    """The events up to and including the marker message."""
    end = next(i for i, (kind, _, body) in enumerate(summaries) if kind == "MessageAdded" and body == "Marker")
    return summaries[:end + 1]


@pytest.mark.parametrize(("viewer", "variables"), [
    pytest.param("bob", {"filter": {"scope": "MINE"}}, id="an agent's MINE view"),
    pytest.param("ann", {}, id="an analyst's inbox"),
    pytest.param("stranger", {}, id="a member of another account"),
])
async def test_a_member_sees_over_http_what_they_see_on_the_websocket(settings, viewer, variables):
    async with running_server(settings) as server, server.http() as http:
        # given: a team with an agent and an analyst, and another account
        team = await make_team(http, roles={"bob": Role.AGENT, "ann": Role.ANALYST})
        other = await make_team(http, roles={"stranger": Role.AGENT})
        member = other["stranger"] if viewer == "stranger" else team[viewer]
        own_account = other.account if viewer == "stranger" else team.account
        start = await start_cursor()
        async with ws_session(server, member.token) as session, \
                multipart_subscription(http, INBOX_EVENTS, {**variables, "after": start}, member.token) as stream:
            websocket = EventCollector(session, INBOX_EVENTS, {**variables, "after": start})

            # when: a message, an assignment to Bob, another message, then a marker in the viewer's own account
            first = (await inbound(http, team.account, "+14155550704", "First"))["conversationId"]
            await mutate(http, ASSIGN, {"conversationId": first, "assigneeId": team["bob"].id}, team.admin.token)
            await inbound(http, team.account, "+14155550705", "Second")
            await inbound(http, team.account, "+14155550704", "For Bob")
            # (Bob's first conversation is in every view of his team, MINE included)
            marker_phone = "+14155550706" if viewer == "stranger" else "+14155550704"
            marker = (await inbound(http, own_account, marker_phone, "Marker"))["conversationId"]
            await websocket.wait_for(is_message(marker, "Marker"))
            await stream.wait_for_data(is_message(marker, "Marker"))
            await websocket.stop()

    # then: the same events, in the same order, on both transports, up to the marker
    # (what follows it, the counts it moves, may have reached one and not yet the other)
    over_websocket = through_marker([summary(item) for item in websocket.items])
    over_http = through_marker([summary(item) for item in stream.data])
    assert over_http == over_websocket
    kinds_and_bodies = [(kind, body) for kind, _, body in over_http if kind == "MessageAdded"]
    if viewer == "stranger":
        assert kinds_and_bodies == [("MessageAdded", "Marker")]
    elif viewer == "bob":
        assert ("MessageAdded", "For Bob") in kinds_and_bodies and ("MessageAdded", "Second") not in kinds_and_bodies
    else:
        assert [body for _, body in kinds_and_bodies] == ["First", "Second", "For Bob", "Marker"]


# --- resume ----------------------------------------------------------------------------

async def test_resuming_with_after_replays_what_was_missed_then_goes_live(settings):
    async with running_server(settings) as server, server.http() as http:
        # given: a cursor from eventCursor, then two messages while nobody listens
        team = await make_team(http)
        token = team.admin.token
        cursor = data(await gql(http, EVENT_CURSOR, token=token))["eventCursor"]
        missed_one = (await inbound(http, team.account, "+14155550707", "Missed one"))["conversationId"]
        missed_two = (await inbound(http, team.account, "+14155550708", "Missed two"))["conversationId"]

        # when
        async with multipart_subscription(http, INBOX_EVENTS, {"after": cursor}, token) as stream:
            await stream.wait_for_data(lambda item: event(item)["__typename"] == "InboxCountsChanged")
            live = (await inbound(http, team.account, "+14155550709", "Live"))["conversationId"]
            await stream.wait_for_data(is_message(live, "Live"))

            # and: resuming from the first replayed event's cursor gives what followed it
            kept = event(stream.data[0])["cursor"]
            async with multipart_subscription(http, INBOX_EVENTS, {"after": kept}, token) as again:
                await again.wait_for_data(is_message(live, "Live"))

    # then: the replay, its counts once, then live (whose counts may follow)
    assert [summary(item) for item in stream.data][:4] == [
        ("MessageAdded", missed_one, "Missed one"), ("MessageAdded", missed_two, "Missed two"),
        ("InboxCountsChanged", None, None), ("MessageAdded", live, "Live"),
    ]
    resumed = [summary(item) for item in again.data if event(item)["__typename"] == "MessageAdded"]
    assert resumed == [("MessageAdded", missed_two, "Missed two"), ("MessageAdded", live, "Live")]


# --- limits ----------------------------------------------------------------------------

async def test_the_document_limits_hold_for_a_multipart_subscription(settings):
    settings = replace(settings, max_aliases=3)
    async with running_server(settings) as server, server.http() as http:
        # given
        team = await make_team(http)
        aliased = "subscription { inboxEvents { " + " ".join(f"a{i}: __typename" for i in range(4)) + " } }"
        before = await start_cursor()
        await inbound(http, team.account, "+14155550712", "Not streamed")

        # when: the stream carries the refusal and ends
        async with multipart_subscription(http, aliased, {"after": before}, team.admin.token) as stream:
            errored = await stream.wait_for(lambda part: bool((part.body.get("payload") or {}).get("errors")))
            await stream.wait_end()

    # then
    assert stream.data == []
    assert errored.body["payload"].get("data") is None
    assert error_codes(errored.body["payload"]) == ["GRAPHQL_VALIDATION_FAILED"]
    assert "aliases" in errored.body["payload"]["errors"][0]["message"].lower()


# --- the end of a stream ---------------------------------------------------------------

async def test_a_logout_of_that_token_ends_the_stream(settings):
    async with running_server(settings) as server, server.http() as http:
        # given: Bob's stream is live (a first message reached it)
        team = await make_team(http)
        bob = team["bob"]
        async with multipart_subscription(http, INBOX_EVENTS, {"after": await start_cursor()}, bob.token) as stream:
            first = (await inbound(http, team.account, "+14155550710", "Before"))["conversationId"]
            await stream.wait_for_data(is_message(first))

            # when
            assert data(await gql(http, LOGOUT, token=bob.token))["logout"]["revoked"] is True

            # then: the server ends it (close delimiter, then the end of the body)
            await stream.wait_end()
            after = len(stream.data)
    assert stream.ended
    assert after == len(stream.data)


async def test_another_members_logout_leaves_the_stream_running(settings):
    async with running_server(settings) as server, server.http() as http:
        team = await make_team(http)
        async with multipart_subscription(http, INBOX_EVENTS, {"after": await start_cursor()},
                                          team["bob"].token) as stream:
            assert data(await gql(http, LOGOUT, token=team["carol"].token))["logout"]["revoked"] is True
            conversation = (await inbound(http, team.account, "+14155550711", "Still here"))["conversationId"]

            await stream.wait_for_data(is_message(conversation, "Still here"))

    assert not stream.ended


# --- around the stream -----------------------------------------------------------------

async def test_a_subscription_over_plain_post_is_refused_with_a_coded_400(settings):
    async with running_server(settings) as server, server.http() as http:
        team = await make_team(http)
        body, headers = multipart_request(INBOX_EVENTS, {}, team.admin.token, accept="application/json")

        response = await http.post("/graphql", json=body, headers=headers)

    assert response.status_code == 400, response.text
    assert response.headers["content-type"].split(";")[0] == "application/json"
    answer = response.json()
    assert "data" not in answer
    assert error_codes(answer) == ["BAD_REQUEST"]
    assert "multipart" in answer["errors"][0]["message"]


async def test_a_query_sent_with_the_multipart_accept_is_answered_as_json(settings):
    async with running_server(settings) as server, server.http() as http:
        team = await make_team(http)
        body, headers = multipart_request(CURRENT_USER, {}, team["bob"].token)

        response = await http.post("/graphql", json=body, headers=headers)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].split(";")[0] == "application/json"
    assert response.headers["content-type"] != MULTIPART_ACCEPT
    assert data(response.json())
