"""notificationAdded end to end: the stored notification, pushed live to every open
connection of its member exactly once, and never for what the member did themselves."""
from __future__ import annotations

from tests.support.documents import operation
from tests.support.http import data, gql
from tests.support.live import EventCollector, running_server, start_cursor, ws_session
from tests.support.teams import make_team
from tests.support.webhook import inbound

NOTIFICATION_ADDED = operation("NotificationAdded")
NOTIFICATIONS = operation("Notifications")
ASSIGN = operation("AssignConversation")


def notification(item: dict) -> dict:
    return item["notificationAdded"]


async def assign(http, token: str, conversation_id: str, assignee_id: str) -> None:
    result = data(await gql(http, ASSIGN, {"conversationId": conversation_id, "assigneeId": assignee_id}, token=token))
    assert result["assignConversation"]["userErrors"] == [], result


async def listen(session) -> EventCollector:
    return EventCollector(session, NOTIFICATION_ADDED, {"after": await start_cursor()})


def about(conversation_id: str):
    return lambda item: notification(item)["conversation"]["id"] == conversation_id


async def test_assignment_by_someone_else_pushes_the_stored_notification(settings):
    async with running_server(settings) as server, server.http() as http:
        # given
        team = await make_team(http)
        bob = team["bob"]
        conversation = (await inbound(http, team.account, "+14155550401", "Help"))["conversationId"]
        async with ws_session(server, bob.token) as session:
            notifications = await listen(session)

            # when
            await assign(http, team.admin.token, conversation, bob.id)

            # then
            pushed = notification(await notifications.wait_for(about(conversation)))
            await notifications.stop()
        stored = data(await gql(http, NOTIFICATIONS, {"first": 10}, token=bob.token))["notifications"]
        assert [edge["node"]["id"] for edge in stored["edges"]] == [pushed["id"]]
        node = stored["edges"][0]["node"]
        assert pushed["kind"] == node["kind"] == "ASSIGNED"
        assert pushed["actor"]["id"] == node["actor"]["id"] == team.admin.id
        assert pushed["createdAt"] == node["createdAt"]
        assert pushed["readAt"] is None and pushed["cursor"]


async def test_self_assignment_notifies_nobody(settings):
    async with running_server(settings) as server, server.http() as http:
        # given
        team = await make_team(http)
        bob = team["bob"]
        taken = (await inbound(http, team.account, "+14155550402", "Mine now"))["conversationId"]
        probe = (await inbound(http, team.account, "+14155550403", "Probe"))["conversationId"]
        async with ws_session(server, bob.token) as session:
            notifications = await listen(session)

            # when: Bob takes one himself, then the admin gives him another
            await assign(http, bob.token, taken, bob.id)
            await assign(http, team.admin.token, probe, bob.id)

            # then
            await notifications.wait_for(about(probe))
            await notifications.stop()
        assert [notification(item)["conversation"]["id"] for item in notifications.items] == [probe]
        stored = data(await gql(http, NOTIFICATIONS, {"first": 10}, token=bob.token))["notifications"]
        assert stored["totalCount"] == 1


async def test_each_open_tab_gets_each_notification_exactly_once(settings):
    async with running_server(settings) as server, server.http() as http:
        # given: Bob has two tabs open
        team = await make_team(http)
        bob = team["bob"]
        first = (await inbound(http, team.account, "+14155550404", "One"))["conversationId"]
        second = (await inbound(http, team.account, "+14155550405", "Two"))["conversationId"]
        async with ws_session(server, bob.token) as tab_one, ws_session(server, bob.token) as tab_two:
            one, two = await listen(tab_one), await listen(tab_two)

            # when
            await assign(http, team.admin.token, first, bob.id)
            await assign(http, team.admin.token, second, bob.id)

            # then: the second one arriving proves nothing more of the first is coming
            for tab in (one, two):
                await tab.wait_for(about(second))
                await tab.stop()
        assert [notification(item)["conversation"]["id"] for item in one.items] == [first, second]
        assert [notification(item)["id"] for item in one.items] == [notification(item)["id"] for item in two.items]
