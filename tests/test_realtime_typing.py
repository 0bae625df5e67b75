"""The typing indicator end to end: a member's setTyping reaches everyone else watching,
stops on expiry, on sending, on `false` and when the typist's last connection closes,
is never echoed to the typist, and shows in `conversation.typingUsers`."""
from __future__ import annotations

from dataclasses import replace

from starlette.routing import WebSocketRoute

from server.graphql_view import TeamInboxGraphQL
from tests.support.documents import operation
from tests.support.http import data, gql
from tests.support.live import EventCollector, running_server, start_cursor, ws_session
from tests.support.live import warm_up as live
from tests.support.live import watch_conversation as watch
from tests.support.teams import make_team
from tests.support.waiting import until
from tests.support.webhook import inbound

INBOX_EVENTS = operation("InboxEvents")
SET_TYPING = operation("SetTyping")
SEND = operation("SendMessage")
ASSIGN = operation("AssignConversation")
THREAD = operation("ConversationThread")
SHORT_TTL = 0.5


def event(item: dict) -> dict:
    return next(iter(item.values()))


def kind(item: dict) -> str:
    return event(item)["__typename"]


def typing_of(user_id: str, is_typing: bool):
    return lambda item: kind(item) == "TypingChanged" and event(item)["user"]["id"] == user_id \
        and event(item)["isTyping"] is is_typing


async def set_typing(http, token: str, conversation_id: str, is_typing: bool) -> None:
    result = data(await gql(http, SET_TYPING, {"conversationId": conversation_id, "isTyping": is_typing}, token=token))
    assert result["setTyping"] == {"accepted": True, "userErrors": []}, result


async def send(http, token: str, conversation_id: str, body: str) -> None:
    result = data(await gql(http, SEND, {"conversationId": conversation_id, "body": body}, token=token))
    assert result["sendMessage"]["userErrors"] == [], result


async def typing_users(http, token: str, conversation_id: str) -> list[str]:
    thread = data(await gql(http, THREAD, {"id": conversation_id, "first": 1}, token=token))["conversation"]
    return [user["id"] for user in thread["typingUsers"]]


async def test_watcher_sees_a_colleague_start_typing(settings):
    async with running_server(settings) as server, server.http() as http:
        # given
        team = await make_team(http)
        bob, carol = team["bob"], team["carol"]
        conversation = (await inbound(http, team.account, "+14155550501", "Hi"))["conversationId"]
        async with ws_session(server, bob.token) as session:
            thread = await watch(session, conversation)
            await live(http, team.account, "+14155550501", thread)

            # when
            await set_typing(http, carol.token, conversation, True)

            # then
            started = event(await thread.wait_for(lambda item: kind(item) == "TypingChanged"))
            await thread.stop()
        assert started["isTyping"] is True
        assert started["user"] == {"id": carol.id, "name": carol.user.name}


async def test_typing_expires_on_its_own_after_the_ttl(settings):
    async with running_server(replace(settings, typing_ttl_seconds=SHORT_TTL)) as server, server.http() as http:
        # given
        team = await make_team(http)
        bob, carol = team["bob"], team["carol"]
        conversation = (await inbound(http, team.account, "+14155550502", "Hi"))["conversationId"]
        async with ws_session(server, bob.token) as session:
            thread = await watch(session, conversation)
            await live(http, team.account, "+14155550502", thread)

            # when: Carol types once and then does nothing
            await set_typing(http, carol.token, conversation, True)

            # then
            await thread.wait_for(typing_of(carol.id, False))
            await thread.stop()
        assert [(event(item)["user"]["id"], event(item)["isTyping"]) for item in thread.items] == [
            (carol.id, True), (carol.id, False),
        ]


async def test_a_typists_own_typing_never_comes_back_to_them(settings):
    async with running_server(settings) as server, server.http() as http:
        # given: Bob watches the conversation and his inbox
        team = await make_team(http)
        bob = team["bob"]
        conversation = (await inbound(http, team.account, "+14155550503", "Hi"))["conversationId"]
        data(await gql(http, ASSIGN, {"conversationId": conversation, "assigneeId": bob.id}, token=team.admin.token))
        async with ws_session(server, bob.token) as session:
            thread = await watch(session, conversation)
            inbox = EventCollector(session, INBOX_EVENTS, {"filter": {"scope": "MINE"}, "after": await start_cursor()})
            await live(http, team.account, "+14155550503", thread, inbox)

            # when: Bob types, stops, types again; then the customer writes (the probe)
            await set_typing(http, bob.token, conversation, True)
            await set_typing(http, bob.token, conversation, False)
            await set_typing(http, bob.token, conversation, True)
            await inbound(http, team.account, "+14155550503", "Probe")

            # then
            for stream in (thread, inbox):
                await stream.wait_for(lambda item: kind(item) == "MessageAdded")
                await stream.stop()
        assert kind(thread.items[0]) == "MessageAdded"
        assert kind(inbox.items[0]) == "MessageAdded"
        assert not any(kind(item) == "TypingChanged" for item in thread.items + inbox.items)


async def test_typing_users_snapshot_shows_the_typist_only_while_typing(settings):
    async with running_server(replace(settings, typing_ttl_seconds=SHORT_TTL)) as server, server.http() as http:
        # given
        team = await make_team(http)
        bob, carol = team["bob"], team["carol"]
        conversation = (await inbound(http, team.account, "+14155550504", "Hi"))["conversationId"]
        async with ws_session(server, bob.token) as session:
            thread = await watch(session, conversation)
            await live(http, team.account, "+14155550504", thread)

            # when
            await set_typing(http, carol.token, conversation, True)
            while_typing = await typing_users(http, bob.token, conversation)
            await thread.wait_for(typing_of(carol.id, False))
            await thread.stop()

        # then
        assert while_typing == [carol.id]
        assert await typing_users(http, bob.token, conversation) == []


async def test_sending_a_message_ends_the_senders_typing(settings):
    async with running_server(settings) as server, server.http() as http:
        # given: Carol is typing (default TTL: only the send can stop it within the test)
        team = await make_team(http)
        bob, carol = team["bob"], team["carol"]
        conversation = (await inbound(http, team.account, "+14155550505", "Hi"))["conversationId"]
        async with ws_session(server, bob.token) as session:
            thread = await watch(session, conversation)
            await live(http, team.account, "+14155550505", thread)
            await set_typing(http, carol.token, conversation, True)

            # when
            await send(http, carol.token, conversation, "Here you go")

            # then
            await thread.wait_for(typing_of(carol.id, False))
            await thread.stop()
        assert [kind(item) for item in thread.items] == ["TypingChanged", "MessageAdded", "TypingChanged"]
        assert await typing_users(http, bob.token, conversation) == []


async def test_closing_the_typists_last_connection_ends_their_typing(settings):
    async with running_server(settings) as server, server.http() as http:
        # given: Carol is connected and typing (default TTL: it would not expire in time)
        team = await make_team(http)
        bob, carol = team["bob"], team["carol"]
        conversation = (await inbound(http, team.account, "+14155550506", "Hi"))["conversationId"]
        async with ws_session(server, bob.token) as session:
            thread = await watch(session, conversation)
            await live(http, team.account, "+14155550506", thread)
            async with ws_session(server, carol.token):
                await set_typing(http, carol.token, conversation, True)
                await thread.wait_for(typing_of(carol.id, True))

            # when: her socket closed (leaving the block)

            # then
            await thread.wait_for(typing_of(carol.id, False))
            await thread.stop()
        assert await typing_users(http, bob.token, conversation) == []


def open_connections(server, user_id: str) -> int:
    """How many WebSockets the server counts for a member (its ConnectionTracker)."""
    route = next(route for route in server.server.config.app.routes if isinstance(route, WebSocketRoute))
    assert isinstance(route.endpoint, TeamInboxGraphQL)
    return route.endpoint.connections.count(int(user_id))


async def test_closing_one_of_two_connections_keeps_the_typing(settings):
    async with running_server(settings) as server, server.http() as http:
        # given: Carol has two tabs open and is typing
        team = await make_team(http)
        bob, carol = team["bob"], team["carol"]
        conversation = (await inbound(http, team.account, "+14155550510", "Hi"))["conversationId"]
        async with ws_session(server, bob.token) as session:
            thread = await watch(session, conversation)
            await live(http, team.account, "+14155550510", thread)
            async with ws_session(server, carol.token):
                async with ws_session(server, carol.token):
                    await set_typing(http, carol.token, conversation, True)
                    await thread.wait_for(typing_of(carol.id, True))

                # when: one tab closes (the server has counted it closed), then a probe
                await until(lambda: open_connections(server, carol.id) == 1, "the server counts one connection")
                await inbound(http, team.account, "+14155550510", "Probe")
                await thread.wait_for(lambda item: kind(item) == "MessageAdded")
                still_typing = await typing_users(http, bob.token, conversation)

            # then: only the last one closing stops it
            await thread.wait_for(typing_of(carol.id, False))
            await thread.stop()
        assert still_typing == [carol.id]
        assert [kind(item) for item in thread.items] == ["TypingChanged", "MessageAdded", "TypingChanged"]


async def test_two_typists_are_tracked_separately(settings):
    async with running_server(settings) as server, server.http() as http:
        # given: Carol and the admin both type
        team = await make_team(http)
        bob, carol, admin = team["bob"], team["carol"], team.admin
        conversation = (await inbound(http, team.account, "+14155550507", "Hi"))["conversationId"]
        async with ws_session(server, bob.token) as session:
            thread = await watch(session, conversation)
            await live(http, team.account, "+14155550507", thread)
            await set_typing(http, carol.token, conversation, True)
            await set_typing(http, admin.token, conversation, True)
            both = await typing_users(http, bob.token, conversation)

            # when: Carol stops
            await set_typing(http, carol.token, conversation, False)

            # then
            await thread.wait_for(typing_of(carol.id, False))
            await thread.stop()
        assert both == [carol.id, admin.id]
        assert [(event(item)["user"]["id"], event(item)["isTyping"]) for item in thread.items] == [
            (carol.id, True), (admin.id, True), (carol.id, False),
        ]
        assert await typing_users(http, bob.token, conversation) == [admin.id]


async def test_assignees_inbox_sees_typing_in_their_conversation(settings):
    async with running_server(settings) as server, server.http() as http:
        # given: a conversation of Bob's; another that is not his
        team = await make_team(http)
        bob, carol = team["bob"], team["carol"]
        his = (await inbound(http, team.account, "+14155550508", "Hi"))["conversationId"]
        other = (await inbound(http, team.account, "+14155550509", "Hi"))["conversationId"]
        data(await gql(http, ASSIGN, {"conversationId": his, "assigneeId": bob.id}, token=team.admin.token))
        async with ws_session(server, bob.token) as session:
            inbox = EventCollector(session, INBOX_EVENTS, {"filter": {"scope": "MINE"}, "after": await start_cursor()})
            await live(http, team.account, "+14155550508", inbox)

            # when
            await set_typing(http, carol.token, other, True)
            await set_typing(http, carol.token, his, True)

            # then
            typing = event(await inbox.wait_for(lambda item: kind(item) == "TypingChanged"))
            await inbox.stop()
        assert typing["conversation"]["id"] == his
        assert (typing["user"]["id"], typing["isTyping"]) == (carol.id, True)
