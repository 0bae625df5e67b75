"""conversationEvents end to end: one conversation's messages, assignments, status
changes and typing, and nothing else, over a real graphql-transport-ws socket."""
from __future__ import annotations

import asyncio

import pytest
from gql import gql as parse
from gql.transport.exceptions import TransportQueryError

from tests.support.documents import operation
from tests.support.http import mutate as call
from tests.support.live import running_server, start_cursor, ws_session
from tests.support.live import warm_up as live
from tests.support.live import watch_conversation as watch
from tests.support.teams import make_team
from tests.support.webhook import inbound

CONVERSATION_EVENTS = operation("ConversationEvents")
ASSIGN = operation("AssignConversation")
SEND = operation("SendMessage")
SET_STATUS = operation("SetConversationStatus")
SET_TYPING = operation("SetTyping")


def kind(item: dict) -> str:
    return item["conversationEvents"]["__typename"]


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
        message = sent["message"]
        assert (message["body"], message["direction"], message["author"]["id"]) == ("On it", "OUTBOUND", carol.id)
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
        assert refused.value.errors and refused.value.errors[0]["extensions"]["code"] == "NOT_FOUND"
