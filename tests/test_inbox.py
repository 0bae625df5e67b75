"""The inbox over HTTP: tab and scope filters, order, search, keyset paging and totals."""
from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from models import Contact
from tests.support.documents import operation
from tests.support.http import data, error_codes, gql
from tests.support.teams import make_team
from tests.support.webhook import inbound, post_inbound

# Customers' messages are delivered with explicit times in the past, so the inbox order
# (and ties in it) is decided by the test, not by the clock.
BASE = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)

INBOX_TOTAL = """
query InboxTotal($filter: InboxFilter, $first: Int) {
  inbox(filter: $filter, first: $first) { totalCount edges { node { id } } }
}
"""


def phone(n: int) -> str:
    return f"+1415555{n:04d}"


async def deliver(client, account, number: str, received_at: datetime | None = None, body: str = "Hello") -> str:
    """A customer's message through the webhook; returns the conversation id."""
    if received_at is None:
        return (await inbound(client, account, number, body))["conversationId"]
    response = await post_inbound(client, account, {
        "id": f"{number}-{received_at.isoformat()}-{body}", "from": number, "to": "+14155550100", "body": body,
        "receivedAt": received_at.isoformat(),
    })
    assert response.status_code == 200, response.text
    return response.json()["conversationId"]


async def inbox(client, token: str, filter: dict | None = None, first: int | None = None,
                after: str | None = None) -> dict:
    variables = {"filter": filter, "first": first, "after": after}
    return data(await gql(client, operation("InboxPage"), variables, token=token))["inbox"]


def ids(page: dict) -> list[str]:
    return [edge["node"]["id"] for edge in page["edges"]]


async def page_through(client, token: str, filter: dict | None = None, first: int = 5) -> list[list[str]]:
    pages, after = [], None
    while True:
        page = await inbox(client, token, filter, first, after)
        pages.append(ids(page))
        if not page["pageInfo"]["hasNextPage"]:
            return pages
        after = page["pageInfo"]["endCursor"]


async def assign(client, token: str, conversation_id: str, assignee_id: str | None) -> None:
    result = data(await gql(client, operation("AssignConversation"),
                            {"conversationId": conversation_id, "assigneeId": assignee_id}, token=token))
    assert result["assignConversation"]["userErrors"] == []


async def set_status(client, token: str, conversation_id: str, status: str) -> None:
    result = data(await gql(client, operation("SetConversationStatus"),
                            {"conversationId": conversation_id, "status": status}, token=token))
    assert result["setConversationStatus"]["userErrors"] == []


async def conversations(client, account, count: int, *, same_time_every: int = 1) -> dict[str, str]:
    """`count` conversations, the i-th last active at BASE + i minutes (groups of
    `same_time_every` share a time): conversation id -> contact phone, in inbox order
    (newest activity first, ties by id descending)."""
    made = []
    for i in range(count):
        at = BASE + timedelta(minutes=i // same_time_every)
        made.append((at, int(await deliver(client, account, phone(i), at)), phone(i)))
    return {str(cid): number for _, cid, number in sorted(made, reverse=True)}


async def test_default_view_is_open_conversations_of_everyone_newest_activity_first(client):
    # given
    team = await make_team(client)
    oldest, middle, newest = [await deliver(client, team.account, phone(i), BASE + timedelta(minutes=i))
                              for i in range(3)]
    closed = await deliver(client, team.account, phone(9), BASE + timedelta(minutes=9))
    await assign(client, team.admin.token, middle, team["bob"].id)
    await set_status(client, team.admin.token, closed, "CLOSED")

    # when
    page = await inbox(client, team["carol"].token)

    # then
    assert ids(page) == [newest, middle, oldest]
    assert {edge["node"]["status"] for edge in page["edges"]} == {"OPEN"}
    assert page["pageInfo"]["hasNextPage"] is False


async def test_an_inbound_message_moves_its_conversation_to_the_top(client):
    # given
    team = await make_team(client)
    oldest, middle, newest = [await deliver(client, team.account, phone(i), BASE + timedelta(minutes=i))
                              for i in range(3)]

    # when
    await deliver(client, team.account, phone(0), body="Any news?")
    page = await inbox(client, team["bob"].token)

    # then
    assert ids(page) == [oldest, newest, middle]
    assert page["edges"][0]["node"]["lastMessage"]["body"] == "Any news?"


async def test_a_late_delivered_older_message_neither_moves_the_conversation_nor_becomes_its_preview(client):
    # given
    team = await make_team(client)
    first = await deliver(client, team.account, phone(1), BASE + timedelta(minutes=1), body="Hello")
    second = await deliver(client, team.account, phone(2), BASE + timedelta(minutes=2))
    await deliver(client, team.account, phone(1), BASE + timedelta(minutes=3), body="Latest news")
    before = await inbox(client, team["bob"].token)

    # when: the provider delivers, late, a message sent before all of these
    await deliver(client, team.account, phone(1), BASE, body="Sent long ago")
    after = await inbox(client, team["bob"].token)

    # then
    assert ids(before) == ids(after) == [first, second]
    row = after["edges"][0]["node"]
    assert row["lastMessage"]["body"] == "Latest news"
    assert row["lastActivityAt"] == before["edges"][0]["node"]["lastActivityAt"] == row["lastMessage"]["createdAt"]


async def test_scopes_select_conversations_by_assignee(client):
    # given
    team = await make_team(client)
    bob, carol = team["bob"], team["carol"]
    c0, c1, c2, c3 = [await deliver(client, team.account, phone(i), BASE + timedelta(minutes=i)) for i in range(4)]
    await assign(client, team.admin.token, c0, bob.id)
    await assign(client, team.admin.token, c2, bob.id)
    await assign(client, team.admin.token, c1, carol.id)

    # when
    mine = await inbox(client, bob.token, {"scope": "MINE"})
    unassigned = await inbox(client, bob.token, {"scope": "UNASSIGNED"})
    carols = await inbox(client, bob.token, {"scope": "USER", "assigneeId": carol.id})
    admins = await inbox(client, bob.token, {"scope": "USER", "assigneeId": team.admin.id})
    everyone = await inbox(client, bob.token, {"scope": "ALL"})

    # then
    assert ids(mine) == [c2, c0]
    assert {edge["node"]["assignee"]["id"] for edge in mine["edges"]} == {bob.id}
    assert ids(unassigned) == [c3]
    assert ids(carols) == [c1]
    assert ids(admins) == []
    assert ids(everyone) == [c3, c2, c1, c0]


async def test_user_scope_without_assignee_id_is_a_validation_error(client):
    # given
    team = await make_team(client)

    # when
    result = await gql(client, operation("InboxPage"), {"filter": {"scope": "USER"}}, token=team["bob"].token)

    # then
    assert error_codes(result) == ["VALIDATION"]
    assert result["errors"][0]["extensions"]["field"] == "assigneeId"


@pytest.mark.parametrize("scope", ["ALL", "MINE", "UNASSIGNED"])
async def test_assignee_id_with_another_scope_is_a_validation_error(client, scope):
    # given
    team = await make_team(client)

    # when
    result = await gql(client, operation("InboxPage"), {"filter": {"scope": scope, "assigneeId": team["carol"].id}},
                       token=team["bob"].token)

    # then
    assert error_codes(result) == ["VALIDATION"]


async def test_closed_tab_lists_only_closed_conversations(client):
    # given
    team = await make_team(client)
    c0, c1, c2 = [await deliver(client, team.account, phone(i), BASE + timedelta(minutes=i)) for i in range(3)]
    await set_status(client, team.admin.token, c0, "CLOSED")
    await set_status(client, team.admin.token, c2, "CLOSED")

    # when
    closed = await inbox(client, team["bob"].token, {"status": "CLOSED"})
    open_ = await inbox(client, team["bob"].token, {"status": "OPEN"})

    # then
    assert ids(closed) == [c2, c0]
    assert {edge["node"]["status"] for edge in closed["edges"]} == {"CLOSED"}
    assert ids(open_) == [c1]


async def test_search_matches_part_of_the_contacts_phone_or_name(client):
    # given
    team = await make_team(client)
    plumber = await deliver(client, team.account, "+14155550123", BASE)
    baker = await deliver(client, team.account, "+12125550188", BASE + timedelta(minutes=1))
    other = await deliver(client, team.account, "+14155550777", BASE + timedelta(minutes=2))
    # Contacts get names from the team's address book; the API has no mutation for it yet.
    await Contact.filter(phone="+14155550123").update(name="Maria Plumber")
    await Contact.filter(phone="+12125550188").update(name="Joe Baker")
    token = team["bob"].token

    # when
    by_phone = await inbox(client, token, {"search": "5550123"})
    by_area_code = await inbox(client, token, {"search": "415"})
    by_name = await inbox(client, token, {"search": "plumb"})
    by_other_name = await inbox(client, token, {"search": "JOE"})
    nothing = await inbox(client, token, {"search": "Zed"})
    wildcards = [await inbox(client, token, {"search": text}) for text in ("%", "_", "5%0")]

    # then
    assert ids(by_phone) == [plumber]
    assert ids(by_area_code) == [other, plumber]
    assert ids(by_name) == [plumber]
    assert ids(by_other_name) == [baker]
    assert ids(nothing) == []
    assert [ids(page) for page in wildcards] == [[], [], []]


async def test_search_only_looks_at_this_account(client):
    # given
    team, other_team = await make_team(client), await make_team(client)
    ours = await deliver(client, team.account, phone(42))
    await deliver(client, other_team.account, phone(43))

    # when
    page = await inbox(client, team["bob"].token, {"search": "555004"})

    # then
    assert ids(page) == [ours]


async def test_paging_through_23_conversations_five_at_a_time_gives_each_once_in_order(client):
    # given: some conversations share their last activity time, so ties are decided by id
    team = await make_team(client)
    expected = list(await conversations(client, team.account, 23, same_time_every=3))

    # when
    pages = await page_through(client, team["bob"].token, first=5)

    # then
    assert [len(page) for page in pages] == [5, 5, 5, 5, 3]
    assert [cid for page in pages for cid in page] == expected


async def test_paging_stays_consistent_while_conversations_move_and_close(client):
    # given
    team = await make_team(client)
    token = team["bob"].token
    phones = await conversations(client, team.account, 23, same_time_every=2)
    order = list(phones)
    first_page = await inbox(client, token, first=5)
    seen = ids(first_page)
    moved, closed, seen_then_moved = order[12], order[17], order[2]

    # when: one from a later page gets a message, another is closed, one already seen moves too
    await deliver(client, team.account, phones[moved], body="Hello again")
    await set_status(client, team.admin.token, closed, "CLOSED")
    await deliver(client, team.account, phones[seen_then_moved], body="Me again")
    rest, after = [], first_page["pageInfo"]["endCursor"]
    while after is not None:
        page = await inbox(client, token, first=5, after=after)
        rest.extend(ids(page))
        after = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None

    # then: nothing repeats, and every conversation still in scope below the cursor is there, in order
    assert seen == order[:5]
    assert not set(seen) & set(rest)
    assert len(rest) == len(set(rest))
    assert rest == [cid for cid in order[5:] if cid not in (moved, closed)]


@pytest.mark.parametrize("cursor", [
    "not-a-cursor",
    base64.urlsafe_b64encode(b'{"a": 1}').decode(),
    base64.urlsafe_b64encode(b'["2025-03-01T09:00:00+00:00"]').decode(),
    base64.urlsafe_b64encode(b'["yesterday", 5]').decode(),
    base64.urlsafe_b64encode(b'["2025-03-01T09:00:00+00:00", "5"]').decode(),
    base64.urlsafe_b64encode(b'[null, 5]').decode(),
    base64.urlsafe_b64encode(b'["2025-03-01T09:00:00", 5]').decode(),  # no time zone
    base64.urlsafe_b64encode(b'["2025-03-01T09:00:00+00:00", 99999999999]').decode(),  # beyond the id column
])
async def test_an_invalid_after_cursor_is_a_validation_error(client, cursor):
    # given
    team = await make_team(client)
    await deliver(client, team.account, phone(1))

    # when
    result = await gql(client, operation("InboxPage"), {"first": 5, "after": cursor}, token=team["bob"].token)

    # then
    assert error_codes(result) == ["VALIDATION"]
    assert result["errors"][0]["extensions"]["field"] == "after"


@pytest.mark.parametrize("filter", [
    None,
    {"scope": "MINE"},
    {"scope": "UNASSIGNED"},
    {"status": "CLOSED"},
    {"search": "55500"},
])
async def test_total_count_is_the_size_of_the_whole_view(client, filter):
    # given
    team = await make_team(client)
    bob = team["bob"]
    made = list(await conversations(client, team.account, 12))
    for cid in made[:4]:
        await assign(client, team.admin.token, cid, bob.id)
    for cid in made[3:6]:
        await set_status(client, team.admin.token, cid, "CLOSED")

    # when
    first_page = data(await gql(client, INBOX_TOTAL, {"filter": filter, "first": 2}, token=bob.token))["inbox"]
    everything = [cid for page in await page_through(client, bob.token, filter, first=5) for cid in page]

    # then
    assert first_page["totalCount"] == len(everything)
    assert len(first_page["edges"]) == min(2, len(everything))
