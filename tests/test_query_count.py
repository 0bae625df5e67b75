"""An inbox page costs a fixed, small number of SQL statements, whatever its size:
the rows it shows (contact, assignee, last message and its author) come from DataLoaders
that batch one query per kind, never one per row."""
from __future__ import annotations

from tests.support.documents import operation
from tests.support.http import data, gql
from tests.support.statements import counting_statements
from tests.support.teams import make_team
from tests.support.webhook import inbound

# Counted for the whole HTTP request: authentication, the page, every loader, the total.
MAX_INBOX_PAGE_QUERIES = 8
MAX_INBOX_COUNTS_QUERIES = 4


async def busy_inbox(client, size: int):
    """`size` open conversations, each assigned to one of three members, whose last
    message is a reply written by another member (so authors are loaded too)."""
    team = await make_team(client)
    members = [team.admin, team["bob"], team["carol"]]
    for i in range(size):
        owner, writer = members[i % len(members)], members[(i + 1) % len(members)]
        conversation_id = (await inbound(client, team.account, f"+1415555{i:04d}", "Hi"))["conversationId"]
        assigned = data(await gql(client, operation("AssignConversation"),
                                  {"conversationId": conversation_id, "assigneeId": owner.id}, token=team.admin.token))
        assert assigned["assignConversation"]["userErrors"] == []
        sent = data(await gql(client, operation("SendMessage"),
                              {"conversationId": conversation_id, "body": f"On it ({i})"}, token=writer.token))
        assert sent["sendMessage"]["userErrors"] == []
    return team


async def inbox_page_statements(client, token: str, first: int) -> tuple[list[str], dict]:
    with counting_statements() as statements:
        page = data(await gql(client, operation("InboxPage"), {"first": first}, token=token))["inbox"]
    return list(statements), page


async def test_an_inbox_page_costs_the_same_few_queries_for_10_or_50_rows(client):
    # given
    team = await busy_inbox(client, 50)

    # when
    small, small_page = await inbox_page_statements(client, team["bob"].token, 10)
    large, large_page = await inbox_page_statements(client, team["bob"].token, 50)

    # then: the pages are full and fully resolved...
    assert len(small_page["edges"]) == 10 and len(large_page["edges"]) == 50
    for edge in large_page["edges"]:
        node = edge["node"]
        assert node["contact"]["phone"] and node["assignee"]["id"]
        assert node["lastMessage"]["direction"] == "OUTBOUND"
        assert node["lastMessage"]["author"]["id"] not in (None, node["assignee"]["id"])
    # ...and cost the same small number of statements
    print(f"\nInboxPage SQL statements: first=10 -> {len(small)}, first=50 -> {len(large)}")
    assert len(small) == len(large), (small, large)
    assert len(large) <= MAX_INBOX_PAGE_QUERIES, large


async def test_inbox_counts_cost_the_same_few_queries_for_any_inbox_size(client):
    # given
    few = await busy_inbox(client, 3)
    many = await busy_inbox(client, 30)

    # when
    with counting_statements() as for_few:
        few_counts = data(await gql(client, operation("InboxCounts"), {"status": "OPEN"}, token=few.admin.token))
    with counting_statements() as for_many:
        many_counts = data(await gql(client, operation("InboxCounts"), {"status": "OPEN"}, token=many.admin.token))

    # then
    assert few_counts["inboxCounts"]["all"] == 3 and many_counts["inboxCounts"]["all"] == 30
    print(f"\nInboxCounts SQL statements: 3 conversations -> {len(for_few)}, 30 -> {len(for_many)}")
    assert len(for_few) == len(for_many), (for_few, for_many)
    assert len(for_many) <= MAX_INBOX_COUNTS_QUERIES, for_many
