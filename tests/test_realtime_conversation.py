"""conversationEvents end to end: one conversation's messages, assignments, status
changes and typing, and nothing else, over a real graphql-transport-ws socket."""
from __future__ import annotations

import asyncio

import pytest
from gql import gql as parse
from gql.transport.exceptions import TransportQueryError

from tests.live import EventCollector, running_server, start_cursor, ws_session
from tests.support import data, gql, inbound, make_team, operation

CONVERSATION_EVENTS = operation("ConversationEvents")
ASSIGN = operation("AssignConversation")
SEND = operation("SendMessage")
SET_STATUS = operation("SetConversationStatus")
SET_TYPING = operation("SetTyping")


def kind(item: dict) -> str:
    return item["conversationEvents"]["__typename"]


async def watch(session, conversation_id: str) -> EventCollector:
    return EventCollector(session, CONVERSATION_EVENTS, {"conversationId": conversation_id, "after": await start_cursor()})


async def live(http, account, phone: str, thread: EventCollector) -> None:
    """Typing is live-only (never replayed), so before signalling it the subscription must
    be registered: a warm-up message reaching it proves that; it is then forgotten."""
    warm_up = (await inbound(http, account, phone, "Warm-up"))["messageId"]
    await thread.wait_for(lambda item: (item["conversationEvents"].get("message") or {}).get("id") == warm_up)
    thread.items.clear()


async def call(http, document: str, variables: dict, token: str) -> dict:
    result = data(await gql(http, document, variables, token=token))
    payload = next(iter(result.values()))
    assert payload["userErrors"] == [], payload
    return payload


async def test_conversation_stream_carries_messages_assignment_status_and_typing(settings):
    async with running_server(settings) as server, server.http() as http:
        # given
        team = await make_team(http)
        bob, carol = team["bob"], team["carol"]
        conversation = (await inbound(http, team.account, "+14155550301", "Hi"))["conversationId"]
        async with ws_session(server, bob.token) as session:
            thread = await watch(session, conversation)
            await live(http, team.account, "+14155550301", thread)

            # when
            await call(http, ASSIGN, {"conversationId": conversation, "assigneeId": carol.id}, team.admin.token)
            await call(http, SET_TYPING, {"conversationId": conversation, "isTyping": True}, carol.token)
            await call(http, SEND, {"conversationId": conversation, "body": "On it"}, carol.token)
            await inbound(http, team.account, "+14155550301", "Thanks")
            await call(http, SET_STATUS, {"conversationId": conversation, "status": "CLOSED"}, carol.token)

            # then
            await thread.wait_for(lambda item: kind(item) == "ConversationStatusChanged")
            await thread.stop()
        kinds = [kind(item) for item in thread.items]
        assert kinds == [
            "ConversationAssigned", "TypingChanged", "MessageAdded", "TypingChanged", "MessageAdded",
            "ConversationStatusChanged",
        ]
        assigned, started, sent, stopped, received, closed = (item["conversationEvents"] for item in thread.items)
        assert assigned["assignee"]["id"] == carol.id and assigned["actor"]["id"] == team.admin.id
        assert (started["user"]["id"], started["isTyping"]) == (carol.id, True)
        assert (sent["message"]["body"], sent["message"]["direction"], sent["message"]["author"]["id"]) == ("On it", "OUTBOUND", carol.id)
        assert (stopped["user"]["id"], stopped["isTyping"]) == (carol.id, False)
        assert (received["message"]["body"], received["message"]["direction"]) == ("Thanks", "INBOUND")
        assert closed["status"] == "CLOSED"


async def test_another_conversations_events_do_not_arrive(settings):
    async with running_server(settings) as server, server.http() as http:
        # given
        team = await make_team(http)
        bob, carol = team["bob"], team["carol"]
        watched = (await inbound(http, team.account, "+14155550302", "Watched"))["conversationId"]
        other = (await inbound(http, team.account, "+14155550303", "Other"))["conversationId"]
        async with ws_session(server, bob.token) as session:
            thread = await watch(session, watched)

            # when: everything happens elsewhere, then one probe message here
            await call(http, ASSIGN, {"conversationId": other, "assigneeId": carol.id}, team.admin.token)
            await call(http, SET_TYPING, {"conversationId": other, "isTyping": True}, carol.token)
            await call(http, SEND, {"conversationId": other, "body": "Elsewhere"}, carol.token)
            await call(http, SET_STATUS, {"conversationId": other, "status": "CLOSED"}, carol.token)
            await inbound(http, team.account, "+14155550302", "Probe")

            # then
            await thread.wait_for(lambda item: kind(item) == "MessageAdded")
            await thread.stop()
        assert [kind(item) for item in thread.items] == ["MessageAdded"]
        assert thread.items[0]["conversationEvents"]["message"]["body"] == "Probe"


async def test_another_accounts_conversation_is_not_found_and_streams_nothing(settings):
    async with running_server(settings) as server, server.http() as http:
        # given
        ours, theirs = await make_team(http), await make_team(http)
        foreign = (await inbound(http, theirs.account, "+14155550304", "Private"))["conversationId"]
        request = parse(CONVERSATION_EVENTS)
        request.variable_values = {"conversationId": foreign, "after": await start_cursor()}
        received: list[dict] = []

        async with ws_session(server, ours.admin.token) as session:
            async def consume():
                async for item in session.subscribe(request):
                    received.append(item)

            # when
            consumer = asyncio.create_task(consume())
            await inbound(http, theirs.account, "+14155550304", "Still private")
            with pytest.raises(TransportQueryError) as refused:
                await asyncio.wait_for(consumer, 5)

        # then
        assert received == []
        assert refused.value.errors[0]["extensions"]["code"] == "NOT_FOUND"
