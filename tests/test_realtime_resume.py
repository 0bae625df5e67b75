"""Resuming a subscription with `after`: exactly what was missed, in order, then live,
without duplicates; ResyncRequired when the log no longer reaches back to the cursor;
typing (live-only) never replayed."""
from __future__ import annotations

from datetime import timedelta

from subscriptions import log
from tests.support.documents import operation
from tests.support.http import mutate as call
from tests.support.live import EventCollector, running_server, start_cursor, ws_session
from tests.support.teams import make_team
from tests.support.webhook import inbound

INBOX_EVENTS = operation("InboxEvents")
CONVERSATION_EVENTS = operation("ConversationEvents")
ASSIGN = operation("AssignConversation")
SET_STATUS = operation("SetConversationStatus")
SET_TYPING = operation("SetTyping")


def event(item: dict) -> dict:
    return next(iter(item.values()))


def kind(item: dict) -> str:
    return event(item)["__typename"]


def summary(item: dict) -> tuple:
    value = event(item)
    return kind(item), (value.get("conversation") or {}).get("id")


async def test_resume_replays_exactly_what_was_missed_in_order_then_goes_live(settings):
    async with running_server(settings) as server, server.http() as http:
        # given: Bob's MINE view received one event, whose cursor he kept
        team = await make_team(http)
        bob = team["bob"]
        kept = (await inbound(http, team.account, "+14155550601", "Kept"))["conversationId"]
        missed = (await inbound(http, team.account, "+14155550602", "Missed"))["conversationId"]
        await call(http, ASSIGN, {"conversationId": kept, "assigneeId": bob.id}, team.admin.token)
        async with ws_session(server, bob.token) as session:
            first = EventCollector(session, INBOX_EVENTS, {"filter": {"scope": "MINE"}, "after": await start_cursor()})
            await inbound(http, team.account, "+14155550601", "Seen")
            cursor = event(await first.wait_for(lambda item: kind(item) == "MessageAdded"))["cursor"]
            await first.stop()

        # when: three things happen while he is away, then he resumes
        await call(http, ASSIGN, {"conversationId": missed, "assigneeId": bob.id}, team.admin.token)
        await inbound(http, team.account, "+14155550602", "While away")
        await call(http, SET_STATUS, {"conversationId": missed, "status": "CLOSED"}, team.admin.token)
        async with ws_session(server, bob.token) as session:
            resumed = EventCollector(session, INBOX_EVENTS, {"filter": {"scope": "MINE"}, "after": cursor})
            # counts are sent once, when the replay is over: after it, events are live
            await resumed.wait_for(lambda item: kind(item) == "InboxCountsChanged")
            await inbound(http, team.account, "+14155550601", "Live again")
            await resumed.wait_for(lambda item: summary(item) == ("MessageAdded", kept))
            await resumed.stop()

        # then
        assert [summary(item) for item in resumed.items] == [
            ("ConversationAssigned", missed), ("MessageAdded", missed), ("ConversationStatusChanged", missed),
            ("InboxCountsChanged", None), ("MessageAdded", kept),
        ]
        cursors = [event(item)["cursor"] for item in resumed.items if kind(item) != "InboxCountsChanged"]
        assert len(set(cursors + [cursor])) == len(cursors) + 1
        assert event(resumed.items[1])["message"]["body"] == "While away"
        assert event(resumed.items[4])["message"]["body"] == "Live again"


async def test_a_cursor_older_than_the_log_keeps_gets_resync_required_first(settings):
    async with running_server(settings) as server, server.http() as http:
        # given: a cursor, then more events, then the log pruned down to the newest
        team = await make_team(http)
        conversation = (await inbound(http, team.account, "+14155550603", "One"))["conversationId"]
        stale = await start_cursor()
        await inbound(http, team.account, "+14155550603", "Two")
        await inbound(http, team.account, "+14155550603", "Three")
        await call(http, ASSIGN, {"conversationId": conversation, "assigneeId": team["bob"].id}, team.admin.token)
        assert await log.prune(timedelta(0)) > 0

        # when
        async with ws_session(server, team.admin.token) as session:
            inbox = EventCollector(session, INBOX_EVENTS, {"after": stale})
            thread = EventCollector(session, CONVERSATION_EVENTS, {"conversationId": conversation, "after": stale})

            # then
            for stream in (inbox, thread):
                await stream.wait_for(lambda item: True)
                await stream.stop()
        assert kind(inbox.items[0]) == "ResyncRequired"
        assert kind(thread.items[0]) == "ResyncRequired"
        assert "cursor" in event(inbox.items[0])["reason"]


async def test_typing_is_not_replayed(settings):
    async with running_server(settings) as server, server.http() as http:
        # given: Bob watched a conversation and kept the cursor of a message
        team = await make_team(http)
        bob, carol = team["bob"], team["carol"]
        conversation = (await inbound(http, team.account, "+14155550604", "Hi"))["conversationId"]
        async with ws_session(server, bob.token) as session:
            first = EventCollector(session, CONVERSATION_EVENTS,
                                   {"conversationId": conversation, "after": await start_cursor()})
            await inbound(http, team.account, "+14155550604", "Seen")
            cursor = event(await first.wait_for(lambda item: kind(item) == "MessageAdded"))["cursor"]
            await first.stop()

        # when: Carol types and stops while he is away, a message arrives, he resumes
        await call(http, SET_TYPING, {"conversationId": conversation, "isTyping": True}, carol.token)
        await call(http, SET_TYPING, {"conversationId": conversation, "isTyping": False}, carol.token)
        await inbound(http, team.account, "+14155550604", "While away")
        async with ws_session(server, bob.token) as session:
            resumed = EventCollector(session, CONVERSATION_EVENTS, {"conversationId": conversation, "after": cursor})
            await resumed.wait_for(lambda item: kind(item) == "MessageAdded")
            await inbound(http, team.account, "+14155550604", "Probe")
            await resumed.wait_for(
                lambda item: kind(item) == "MessageAdded" and event(item)["message"]["body"] == "Probe")
            await resumed.stop()

        # then
        assert [(kind(item), event(item)["message"]["body"]) for item in resumed.items] == [
            ("MessageAdded", "While away"), ("MessageAdded", "Probe"),
        ]
