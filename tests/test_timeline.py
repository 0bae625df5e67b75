"""A conversation's timeline: messages, assignment and status changes in time order,
keyset-paged; and its assignment history."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.support.documents import operation
from tests.support.http import data, gql
from tests.support.teams import make_team
from tests.support.webhook import inbound, post_inbound

PHONE = "+14155550123"
BASE = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


async def deliver(client, account, body: str, received_at: datetime | str | None = None, number: str = PHONE) -> str:
    """A customer's message through the webhook; returns the conversation id."""
    if received_at is None:
        return (await inbound(client, account, number, body))["conversationId"]
    at = received_at if isinstance(received_at, str) else received_at.isoformat()
    response = await post_inbound(client, account, {
        "id": f"{number}-{at}-{body}", "from": number, "to": "+14155550100", "body": body, "receivedAt": at,
    })
    assert response.status_code == 200, response.text
    return response.json()["conversationId"]


async def mutate(client, name: str, field: str, variables: dict, token: str) -> dict:
    result = data(await gql(client, operation(name), variables, token=token))[field]
    assert result["userErrors"] == [], result
    return result


async def assign(client, token: str, conversation_id: str, assignee_id: str | None, note: str | None = None) -> None:
    await mutate(client, "AssignConversation", "assignConversation",
                 {"conversationId": conversation_id, "assigneeId": assignee_id, "note": note}, token)


async def set_status(client, token: str, conversation_id: str, status: str) -> None:
    await mutate(client, "SetConversationStatus", "setConversationStatus",
                 {"conversationId": conversation_id, "status": status}, token)


async def send(client, token: str, conversation_id: str, body: str) -> None:
    await mutate(client, "SendMessage", "sendMessage", {"conversationId": conversation_id, "body": body}, token)


async def thread(client, token: str, conversation_id: str, first: int | None = None, after: str | None = None) -> dict:
    variables = {"id": conversation_id, "first": first, "after": after}
    return data(await gql(client, operation("ConversationThread"), variables, token=token))["conversation"]


async def whole_timeline(client, token: str, conversation_id: str, first: int) -> list[dict]:
    """Every timeline entry, page by page."""
    nodes: list[dict] = []
    after = None
    while True:
        page = (await thread(client, token, conversation_id, first, after))["timeline"]
        assert len(page["edges"]) <= first
        nodes.extend(edge["node"] for edge in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


def key(node: dict) -> tuple[str, str]:
    return node["__typename"], node["id"]


def summary(node: dict) -> tuple:
    """What a timeline row shows, without ids and times."""
    name = lambda user: user and user["name"]  # noqa: E731
    if node["__typename"] == "Message":
        return ("Message", node["direction"], node["body"], name(node["author"]))
    if node["__typename"] == "AssignmentEvent":
        return ("Assigned", name(node["actor"]), name(node["assignee"]), name(node["previousAssignee"]), node["note"])
    return ("Status", node["status"], name(node["actor"]))


async def test_timeline_interleaves_messages_assignments_and_status_changes_in_time_order(client):
    # given
    team = await make_team(client)
    admin, bob, carol = team.admin, team["bob"], team["carol"]
    conversation = await deliver(client, team.account, "My sink leaks")
    await assign(client, admin.token, conversation, bob.id, "on call")
    await send(client, bob.token, conversation, "On my way")
    await assign(client, bob.token, conversation, carol.id, "needs a plumber")
    await set_status(client, carol.token, conversation, "CLOSED")
    await deliver(client, team.account, "It leaks again")
    await send(client, carol.token, conversation, "Coming back")
    await set_status(client, carol.token, conversation, "CLOSED")
    await set_status(client, carol.token, conversation, "OPEN")

    # when
    timeline = (await thread(client, bob.token, conversation))["timeline"]
    nodes = [edge["node"] for edge in timeline["edges"]]

    # then
    admin_name, bob_name, carol_name = admin.user.name, bob.user.name, carol.user.name
    assert [summary(node) for node in nodes] == [
        ("Message", "INBOUND", "My sink leaks", None),
        ("Assigned", admin_name, bob_name, None, "on call"),
        ("Message", "OUTBOUND", "On my way", bob_name),
        ("Assigned", bob_name, carol_name, bob_name, "needs a plumber"),
        ("Status", "CLOSED", carol_name),
        ("Message", "INBOUND", "It leaks again", None),
        ("Status", "OPEN", None),
        ("Message", "OUTBOUND", "Coming back", carol_name),
        ("Status", "CLOSED", carol_name),
        ("Status", "OPEN", carol_name),
    ]
    times = [datetime.fromisoformat(node["createdAt"]) for node in nodes]
    assert times == sorted(times)
    assert timeline["pageInfo"]["hasNextPage"] is False


async def test_paging_the_timeline_gives_every_entry_once_in_order(client):
    # given: 13 entries of all three kinds
    team = await make_team(client)
    bob, carol = team["bob"], team["carol"]
    conversation = await deliver(client, team.account, "Hello")
    for round_ in range(3):
        await assign(client, team.admin.token, conversation, bob.id if round_ % 2 == 0 else carol.id)
        await send(client, bob.token, conversation, f"Reply {round_}")
        await set_status(client, bob.token, conversation, "CLOSED")
        await deliver(client, team.account, f"Again {round_}")
    everything = [key(node) for node in await whole_timeline(client, bob.token, conversation, first=100)]

    # when
    by_page_size = {size: [key(node) for node in await whole_timeline(client, bob.token, conversation, first=size)]
                    for size in (1, 2, 5)}

    # then
    assert len(everything) == 16  # 1 + 3 x (assignment, reply, close, message, reopen)
    assert len(set(everything)) == len(everything)
    for size, keys in by_page_size.items():
        assert keys == everything, size


async def test_entries_with_equal_times_keep_a_stable_order_across_pages(client):
    # given: three messages received at the same instant, then an assignment and a close
    # with, at their exact instants, customer messages delivered late
    team = await make_team(client)
    same_time = BASE
    conversation = [await deliver(client, team.account, body, same_time) for body in ("one", "two", "three")][-1]
    await assign(client, team.admin.token, conversation, team["bob"].id, "tie")
    await set_status(client, team.admin.token, conversation, "CLOSED")
    history = (await thread(client, team.admin.token, conversation))["timeline"]["edges"]
    assigned_at = next(e["node"]["createdAt"] for e in history if e["node"]["__typename"] == "AssignmentEvent")
    closed_at = next(e["node"]["createdAt"] for e in history if e["node"]["__typename"] == "StatusChange")
    await deliver(client, team.account, "at the assignment", assigned_at)
    await deliver(client, team.account, "at the close", closed_at)

    # when
    in_one_page = await whole_timeline(client, team.admin.token, conversation, first=100)
    one_by_one = await whole_timeline(client, team.admin.token, conversation, first=1)
    two_by_two = await whole_timeline(client, team.admin.token, conversation, first=2)

    # then: ties in time are ordered message, assignment, status change, then by creation
    assert [summary(node)[:3] for node in in_one_page] == [
        ("Message", "INBOUND", "one"),
        ("Message", "INBOUND", "two"),
        ("Message", "INBOUND", "three"),
        ("Message", "INBOUND", "at the assignment"),
        ("Assigned", team.admin.user.name, "Bob Tester"),
        ("Message", "INBOUND", "at the close"),
        ("Status", "CLOSED", team.admin.user.name),
        ("Status", "OPEN", None),
    ]
    assert [key(node) for node in one_by_one] == [key(node) for node in in_one_page]
    assert [key(node) for node in two_by_two] == [key(node) for node in in_one_page]


async def test_assignment_events_carry_actor_assignee_previous_assignee_and_note(client):
    # given
    team = await make_team(client)
    admin, bob, carol = team.admin, team["bob"], team["carol"]
    conversation = await deliver(client, team.account, "Hello")

    # when
    await assign(client, admin.token, conversation, bob.id, "you are on call")
    await assign(client, bob.token, conversation, carol.id, "  escalating to Carol  ")
    await assign(client, carol.token, conversation, None)
    history = (await thread(client, bob.token, conversation))["assignmentHistory"]

    # then: oldest first
    assert [(e["actor"]["id"], e["assignee"] and e["assignee"]["id"],
             e["previousAssignee"] and e["previousAssignee"]["id"], e["note"]) for e in history] == [
        (admin.id, bob.id, None, "you are on call"),
        (bob.id, carol.id, bob.id, "escalating to Carol"),
        (carol.id, None, carol.id, None),
    ]
    times = [datetime.fromisoformat(e["createdAt"]) for e in history]
    assert times == sorted(times)


async def test_timeline_shows_the_same_assignment_events_as_the_history(client):
    # given
    team = await make_team(client)
    conversation = await deliver(client, team.account, "Hello")
    await assign(client, team.admin.token, conversation, team["bob"].id, "first")
    await assign(client, team.admin.token, conversation, team["carol"].id, "second")

    # when
    result = await thread(client, team["carol"].token, conversation)

    # then
    in_timeline = [edge["node"] for edge in result["timeline"]["edges"]
                   if edge["node"]["__typename"] == "AssignmentEvent"]
    assert [(e["id"], e["note"], e["previousAssignee"] and e["previousAssignee"]["id"]) for e in in_timeline] == [
        (e["id"], e["note"], e["previousAssignee"] and e["previousAssignee"]["id"]) for e in result["assignmentHistory"]
    ]
    assert [e["note"] for e in in_timeline] == ["first", "second"]


async def test_a_late_delivered_message_takes_its_place_in_time(client):
    # given: a message the provider delivers after newer ones, with its original time
    team = await make_team(client)
    conversation = await deliver(client, team.account, "first", BASE)
    await deliver(client, team.account, "third", BASE + timedelta(minutes=2))

    # when
    await deliver(client, team.account, "second", BASE + timedelta(minutes=1))
    nodes = await whole_timeline(client, team.admin.token, conversation, first=10)

    # then
    assert [node["body"] for node in nodes] == ["first", "second", "third"]


async def test_an_invalid_timeline_cursor_is_a_validation_error(client):
    # given
    team = await make_team(client)
    conversation = await deliver(client, team.account, "Hello")

    # when
    result = await gql(client, operation("ConversationThread"), {"id": conversation, "after": "bogus"},
                       token=team.admin.token)

    # then
    assert [e["extensions"]["code"] for e in result["errors"]] == ["VALIDATION"]
