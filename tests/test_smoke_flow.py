"""One walk through the main path: inbound message, inbox, assignment, thread."""
from tests.support.documents import operation
from tests.support.http import data, gql
from tests.support.teams import make_team
from tests.support.webhook import inbound


async def test_inbound_then_assign_shows_in_inbox_counts_and_thread(client):
    # given
    team = await make_team(client)
    bob = team["bob"]
    delivered = await inbound(client, team.account, "+14155550123", "My sink leaks")
    conversation_id = delivered["conversationId"]

    # when
    assigned = data(await gql(client, operation("AssignConversation"),
                              {"conversationId": conversation_id, "assigneeId": bob.id, "note": "on call"},
                              token=team.admin.token))["assignConversation"]
    inbox = data(await gql(client, operation("InboxPage"), {"filter": {"scope": "MINE"}}, token=bob.token))["inbox"]
    counts = data(await gql(client, operation("InboxCounts"), {"status": "OPEN"}, token=bob.token))["inboxCounts"]
    thread = data(await gql(client, operation("ConversationThread"), {"id": conversation_id},
                            token=bob.token))["conversation"]

    # then
    assert assigned["userErrors"] == []
    assert assigned["conversation"]["assignee"]["id"] == bob.id
    assert [edge["node"]["id"] for edge in inbox["edges"]] == [conversation_id]
    assert inbox["edges"][0]["node"]["lastMessage"]["body"] == "My sink leaks"
    assert inbox["edges"][0]["node"]["contact"]["phone"] == "+14155550123"
    assert counts["all"] == 1 and counts["mine"] == 1 and counts["unassigned"] == 0
    assert [item["node"]["__typename"] for item in thread["timeline"]["edges"]] == ["Message", "AssignmentEvent"]
    assert thread["assignmentHistory"][0]["note"] == "on call"
    assert thread["assignmentHistory"][0]["actor"]["id"] == team.admin.id
