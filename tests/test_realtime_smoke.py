"""A first end-to-end check of the realtime path over a real socket."""
from tests.support.documents import operation
from tests.support.http import data, gql
from tests.support.live import EventCollector, running_server, start_cursor, ws_session
from tests.support.teams import make_team
from tests.support.webhook import inbound


async def test_assignee_hears_assignment_over_websocket(settings):
    async with running_server(settings) as server, server.http() as http:
        team = await make_team(http)
        bob = team["bob"]
        conversation_id = (await inbound(http, team.account, "+14155550123", "Hi"))["conversationId"]
        async with ws_session(server, bob.token) as session:
            events = EventCollector(session, operation("InboxEvents"),
                                    {"filter": {"scope": "MINE"}, "after": await start_cursor()})
            data(await gql(http, operation("AssignConversation"),
                           {"conversationId": conversation_id, "assigneeId": bob.id}, token=team.admin.token))
            assigned = await events.wait_for(lambda item: item["inboxEvents"]["__typename"] == "ConversationAssigned")
            await events.stop()
        assert assigned["inboxEvents"]["assignee"]["id"] == bob.id
        assert assigned["inboxEvents"]["actor"]["id"] == team.admin.id
