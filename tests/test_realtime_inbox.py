"""inboxEvents end to end: what each scope hears over a real graphql-transport-ws socket.

Subscriptions start from `start_cursor()`, so nothing depends on how fast they reach
the server. Absence is proven with a later probe event: the stream is in seq order, so
once the probe has arrived, anything that was going to arrive before it has."""
from __future__ import annotations

import pytest
from gql import gql as parse
from gql.transport.exceptions import TransportQueryError

from models import Plan
from tests.support.documents import operation
from tests.support.http import data, gql
from tests.support.live import EventCollector, running_server, start_cursor, ws_session
from tests.support.teams import make_team
from tests.support.webhook import inbound

INBOX_EVENTS = operation("InboxEvents")
NOTIFICATION_ADDED = operation("NotificationAdded")
ASSIGN = operation("AssignConversation")
SET_STATUS = operation("SetConversationStatus")
INBOX_COUNTS = operation("InboxCounts")


def event(item: dict) -> dict:
    return item["inboxEvents"]


def kind(item: dict) -> str:
    return event(item)["__typename"]


def about(conversation_id: str, typename: str):
    return lambda item: kind(item) == typename and event(item)["conversation"]["id"] == conversation_id


async def assign(http, token: str, conversation_id: str, assignee_id: str | None) -> None:
    result = data(await gql(http, ASSIGN, {"conversationId": conversation_id, "assigneeId": assignee_id}, token=token))
    assert result["assignConversation"]["userErrors"] == [], result


async def set_status(http, token: str, conversation_id: str, status: str) -> None:
    result = data(await gql(http, SET_STATUS, {"conversationId": conversation_id, "status": status}, token=token))
    assert result["setConversationStatus"]["userErrors"] == [], result


async def subscribe(session, scope: dict | None = None) -> EventCollector:
    variables: dict[str, object] = {"after": await start_cursor()}
    if scope is not None:
        variables["filter"] = scope
    return EventCollector(session, INBOX_EVENTS, variables)


def conversation_events(events: EventCollector, conversation_id: str) -> list[str]:
    return [kind(item) for item in events.items
            if kind(item) not in ("InboxCountsChanged", "ResyncRequired")
            and event(item)["conversation"]["id"] == conversation_id]


async def test_mine_hears_assignment_then_inbound_message_and_its_notification(settings):
    async with running_server(settings) as server, server.http() as http:
        # given
        team = await make_team(http)
        bob = team["bob"]
        conversation = (await inbound(http, team.account, "+14155550201", "First"))["conversationId"]
        async with ws_session(server, bob.token) as session:
            mine = await subscribe(session, {"scope": "MINE"})
            notifications = EventCollector(session, NOTIFICATION_ADDED, {"after": await start_cursor()})

            # when
            await assign(http, team.admin.token, conversation, bob.id)
            assigned = await mine.wait_for(about(conversation, "ConversationAssigned"))
            reply = await inbound(http, team.account, "+14155550201", "Are you there?")

            # then
            added = await mine.wait_for(about(conversation, "MessageAdded"))
            new_message = await notifications.wait_for(lambda item: item["notificationAdded"]["kind"] == "NEW_MESSAGE")
            await mine.stop()
            await notifications.stop()
        assert event(assigned)["assignee"]["id"] == bob.id
        assert event(assigned)["actor"]["id"] == team.admin.id
        assert event(added)["message"]["id"] == reply["messageId"]
        assert event(added)["message"]["direction"] == "INBOUND"
        assert event(added)["conversation"]["assignee"]["id"] == bob.id
        assert new_message["notificationAdded"]["message"]["id"] == reply["messageId"]
        assert new_message["notificationAdded"]["conversation"]["id"] == conversation


async def test_reassigned_away_conversation_leaves_the_old_assignees_mine_stream(settings):
    async with running_server(settings) as server, server.http() as http:
        # given: a conversation of Bob's, and a second one that stays his
        team = await make_team(http)
        bob, carol = team["bob"], team["carol"]
        moving = (await inbound(http, team.account, "+14155550202", "Moving"))["conversationId"]
        staying = (await inbound(http, team.account, "+14155550203", "Staying"))["conversationId"]
        await assign(http, team.admin.token, moving, bob.id)
        await assign(http, team.admin.token, staying, bob.id)
        async with ws_session(server, bob.token) as session:
            mine = await subscribe(session, {"scope": "MINE"})

            # when: it is escalated to Carol, then the customer writes in both
            await assign(http, team.admin.token, moving, carol.id)
            await inbound(http, team.account, "+14155550202", "Now for Carol")
            await inbound(http, team.account, "+14155550203", "Probe for Bob")

            # then
            await mine.wait_for(about(staying, "MessageAdded"))
            await mine.stop()
        reassigned = [event(item) for item in mine.items if about(moving, "ConversationAssigned")(item)]
        assert len(reassigned) == 1
        assert reassigned[0]["assignee"]["id"] == carol.id
        assert reassigned[0]["previousAssignee"]["id"] == bob.id
        assert conversation_events(mine, moving) == ["ConversationAssigned"]


async def test_unassigned_scope_sees_new_conversations_and_loses_them_when_assigned(settings):
    async with running_server(settings) as server, server.http() as http:
        # given
        team = await make_team(http)
        bob = team["bob"]
        async with ws_session(server, team.admin.token) as session:
            unassigned = await subscribe(session, {"scope": "UNASSIGNED"})

            # when: a new conversation arrives, is assigned, gets a reply; then a probe
            conversation = (await inbound(http, team.account, "+14155550204", "Hello"))["conversationId"]
            await assign(http, team.admin.token, conversation, bob.id)
            await inbound(http, team.account, "+14155550204", "After assignment")
            probe = (await inbound(http, team.account, "+14155550205", "Probe"))["conversationId"]

            # then
            await unassigned.wait_for(about(probe, "MessageAdded"))
            await unassigned.stop()
        assert conversation_events(unassigned, conversation) == ["MessageAdded", "ConversationAssigned"]


async def test_user_scope_follows_one_members_conversations_only(settings):
    async with running_server(settings) as server, server.http() as http:
        # given: the admin watches Bob's queue
        team = await make_team(http)
        bob, carol = team["bob"], team["carol"]
        bobs = (await inbound(http, team.account, "+14155550206", "For Bob"))["conversationId"]
        carols = (await inbound(http, team.account, "+14155550207", "For Carol"))["conversationId"]
        async with ws_session(server, team.admin.token) as session:
            queue = await subscribe(session, {"scope": "USER", "assigneeId": bob.id})

            # when
            await assign(http, team.admin.token, carols, carol.id)
            await inbound(http, team.account, "+14155550207", "Carol's customer again")
            await assign(http, team.admin.token, bobs, bob.id)
            await inbound(http, team.account, "+14155550206", "Bob's customer again")

            # then
            await queue.wait_for(about(bobs, "MessageAdded"))
            await queue.stop()
        assert conversation_events(queue, bobs) == ["ConversationAssigned", "MessageAdded"]
        assert conversation_events(queue, carols) == []


async def test_counts_changed_after_assignments_match_the_inbox_counts_query(settings):
    async with running_server(settings) as server, server.http() as http:
        # given
        team = await make_team(http)
        bob, carol = team["bob"], team["carol"]
        first = (await inbound(http, team.account, "+14155550208", "One"))["conversationId"]
        second = (await inbound(http, team.account, "+14155550209", "Two"))["conversationId"]
        await inbound(http, team.account, "+14155550210", "Three")
        async with ws_session(server, bob.token) as session:
            view = await subscribe(session)

            # when
            await assign(http, team.admin.token, first, bob.id)
            await assign(http, team.admin.token, second, carol.id)

            # then: one counts update follows each assignment; the last one is current
            await view.wait_for(lambda _: [kind(item) for item in view.items].count("InboxCountsChanged") >= 2)
            await view.stop()
        kinds = [kind(item) for item in view.items]
        assert kinds == ["ConversationAssigned", "InboxCountsChanged", "ConversationAssigned", "InboxCountsChanged"]
        counts = event(view.items[-1])["counts"]
        expected = data(await gql(http, INBOX_COUNTS, {"status": "OPEN"}, token=bob.token))["inboxCounts"]
        # The pushed counts are what the query answers, id included (a cache merges them).
        assert counts == expected
        assert counts["status"] == "OPEN"
        assert tuple(counts[tab] for tab in ("all", "unassigned", "mine")) == (3, 1, 1)


async def test_closing_a_conversation_sends_status_changed(settings):
    async with running_server(settings) as server, server.http() as http:
        # given
        team = await make_team(http)
        conversation = (await inbound(http, team.account, "+14155550211", "Thanks, solved"))["conversationId"]
        async with ws_session(server, team["bob"].token) as session:
            view = await subscribe(session)

            # when
            await set_status(http, team.admin.token, conversation, "CLOSED")

            # then
            changed = await view.wait_for(about(conversation, "ConversationStatusChanged"))
            await view.stop()
        assert event(changed)["status"] == "CLOSED"


async def test_an_assignment_to_someone_else_does_not_reach_a_mine_view(settings):
    async with running_server(settings) as server, server.http() as http:
        # given
        team = await make_team(http)
        bob, carol = team["bob"], team["carol"]
        carols = (await inbound(http, team.account, "+14155550212", "For Carol"))["conversationId"]
        probe = (await inbound(http, team.account, "+14155550213", "Probe"))["conversationId"]
        async with ws_session(server, bob.token) as session:
            mine = await subscribe(session, {"scope": "MINE"})

            # when
            await assign(http, team.admin.token, carols, carol.id)
            await assign(http, team.admin.token, probe, bob.id)

            # then: the probe is the first conversation event Bob's view sees
            await mine.wait_for(about(probe, "ConversationAssigned"))
            await mine.stop()
        conversation_items = [item for item in mine.items if kind(item) != "InboxCountsChanged"]
        assert about(probe, "ConversationAssigned")(conversation_items[0])
        assert conversation_events(mine, carols) == []


async def test_entry_plan_streams_the_shared_inbox_without_team_features(settings):
    async with running_server(settings) as server, server.http() as http:
        # given: an account on the entry plan
        team = await make_team(http, plan=Plan.STARTER)
        async with ws_session(server, team["bob"].token) as session:
            everything = await subscribe(session)
            refused = []
            for document, variables in ((INBOX_EVENTS, {"filter": {"scope": "MINE"}}), (NOTIFICATION_ADDED, {})):
                request = parse(document)
                request.variable_values = variables
                with pytest.raises(TransportQueryError) as error:
                    async for _ in session.subscribe(request):
                        pass
                assert error.value.errors, error.value
                refused.append(error.value.errors[0]["extensions"]["code"])

            # when: a new conversation arrives (it would move the counts)
            conversation = (await inbound(http, team.account, "+14155550214", "Hello"))["conversationId"]

            # then: the message, but no counts (a team feature)
            await everything.wait_for(about(conversation, "MessageAdded"))
            await inbound(http, team.account, "+14155550215", "Probe")
            await everything.wait_for(
                lambda item: kind(item) == "MessageAdded" and event(item)["conversation"]["id"] != conversation)
            await everything.stop()
        assert refused == ["FEATURE_NOT_IN_PLAN", "FEATURE_NOT_IN_PLAN"]
        assert [kind(item) for item in everything.items] == ["MessageAdded", "MessageAdded"]


async def test_search_view_hears_only_matching_conversations(settings):
    async with running_server(settings) as server, server.http() as http:
        # given: a view searching for one customer's number
        team = await make_team(http)
        async with ws_session(server, team["bob"].token) as session:
            searched = await subscribe(session, {"search": "5550216"})

            # when: another customer writes, then the searched one
            other = (await inbound(http, team.account, "+14155550217", "Not me"))["conversationId"]
            match = (await inbound(http, team.account, "+14155550216", "Me"))["conversationId"]

            # then
            await searched.wait_for(about(match, "MessageAdded"))
            await searched.stop()
        assert conversation_events(searched, other) == []
        assert conversation_events(searched, match) == ["MessageAdded"]
