"""Members' notifications: who is told what, listing and paging them, marking them read."""
from __future__ import annotations

import pytest

from tests.support.documents import operation
from tests.support.http import data, gql
from tests.support.teams import make_team
from tests.support.webhook import inbound

PHONE = "+14155550123"


async def assign(client, token: str, conversation_id: str, assignee_id: str | None) -> None:
    result = data(await gql(client, operation("AssignConversation"),
                            {"conversationId": conversation_id, "assigneeId": assignee_id}, token=token))
    assert result["assignConversation"]["userErrors"] == [], result


async def notifications(client, token: str, *, unread_only: bool | None = None, first: int | None = None,
                        after: str | None = None) -> dict:
    # Omitted rather than null: the schema's `unreadOnly: Boolean! = false` refuses an explicit null.
    variables = {name: value for name, value in {"unreadOnly": unread_only, "first": first, "after": after}.items()
                 if value is not None}
    return data(await gql(client, operation("Notifications"), variables, token=token))["notifications"]


async def mark_read(client, token: str, **variables) -> dict:
    return data(await gql(client, operation("MarkNotificationsRead"), variables, token=token))["markNotificationsRead"]


def nodes(connection: dict) -> list[dict]:
    return [edge["node"] for edge in connection["edges"]]


async def assigned_to(client, team, member, count: int) -> list[str]:
    """`count` conversations the admin assigns to `member`: one ASSIGNED notification each."""
    conversation_ids = []
    for i in range(count):
        conversation_id = (await inbound(client, team.account, f"+1212555{i:04d}"))["conversationId"]
        await assign(client, team.admin.token, conversation_id, member.id)
        conversation_ids.append(conversation_id)
    return conversation_ids


async def test_assignment_by_someone_else_notifies_the_assignee(client):
    # given
    team = await make_team(client)
    bob = team["bob"]
    conversation = (await inbound(client, team.account, PHONE))["conversationId"]

    # when
    await assign(client, team.admin.token, conversation, bob.id)
    bobs = await notifications(client, bob.token)

    # then
    assert [(n["kind"], n["actor"]["id"], n["conversation"]["id"], n["message"], n["readAt"]) for n in nodes(bobs)] == [
        ("ASSIGNED", team.admin.id, conversation, None, None)
    ]
    assert nodes(bobs)[0]["conversation"]["contact"]["phone"] == PHONE
    assert bobs["totalCount"] == 1 and bobs["unreadCount"] == 1
    assert nodes(await notifications(client, team.admin.token)) == []
    assert nodes(await notifications(client, team["carol"].token)) == []


async def test_assigning_yourself_notifies_nobody(client):
    # given
    team = await make_team(client)
    bob = team["bob"]
    conversation = (await inbound(client, team.account, PHONE))["conversationId"]

    # when
    await assign(client, bob.token, conversation, bob.id)

    # then
    for member in (team.admin, bob, team["carol"]):
        assert (await notifications(client, member.token))["totalCount"] == 0


async def test_reassignment_notifies_only_the_new_assignee(client):
    # given
    team = await make_team(client)
    bob, carol = team["bob"], team["carol"]
    conversation = (await inbound(client, team.account, PHONE))["conversationId"]
    await assign(client, bob.token, conversation, bob.id)

    # when
    await assign(client, bob.token, conversation, carol.id)
    await assign(client, carol.token, conversation, None)

    # then
    carols = await notifications(client, carol.token)
    assert [(n["kind"], n["actor"]["id"]) for n in nodes(carols)] == [("ASSIGNED", bob.id)]
    assert (await notifications(client, bob.token))["totalCount"] == 0
    assert (await notifications(client, team.admin.token))["totalCount"] == 0


async def test_a_customer_message_in_an_assigned_conversation_notifies_the_assignee(client):
    # given
    team = await make_team(client)
    bob = team["bob"]
    conversation = (await inbound(client, team.account, PHONE, "Hello"))["conversationId"]
    await assign(client, bob.token, conversation, bob.id)

    # when
    delivered = await inbound(client, team.account, PHONE, "Are you there?")
    bobs = await notifications(client, bob.token)

    # then
    assert [(n["kind"], n["actor"], n["conversation"]["id"], n["message"]) for n in nodes(bobs)] == [
        ("NEW_MESSAGE", None, conversation, {"id": delivered["messageId"], "body": "Are you there?"})
    ]
    assert (await notifications(client, team["carol"].token))["totalCount"] == 0
    assert (await notifications(client, team.admin.token))["totalCount"] == 0


async def test_a_customer_message_in_an_unassigned_conversation_notifies_nobody(client):
    # given
    team = await make_team(client)
    await inbound(client, team.account, PHONE, "Hello")

    # when
    await inbound(client, team.account, PHONE, "Anyone?")

    # then
    for member in (team.admin, team["bob"], team["carol"]):
        assert (await notifications(client, member.token))["totalCount"] == 0


async def test_a_members_reply_notifies_nobody(client):
    # given
    team = await make_team(client)
    bob, carol = team["bob"], team["carol"]
    conversation = (await inbound(client, team.account, PHONE))["conversationId"]
    await assign(client, bob.token, conversation, bob.id)

    # when
    for member in (carol, bob):
        sent = data(await gql(client, operation("SendMessage"), {"conversationId": conversation, "body": "Hi"},
                              token=member.token))["sendMessage"]
        assert sent["userErrors"] == []

    # then
    for member in (team.admin, bob, carol):
        assert (await notifications(client, member.token))["totalCount"] == 0


async def test_notifications_page_newest_first_with_counts_and_unread_filter(client):
    # given: seven notifications for Bob, the two oldest read
    team = await make_team(client)
    bob = team["bob"]
    await assigned_to(client, team, bob, 7)
    oldest_first = list(reversed(nodes(await notifications(client, bob.token))))
    await mark_read(client, bob.token, ids=[n["id"] for n in oldest_first[:2]])
    unread_ids = [n["id"] for n in reversed(oldest_first[2:])]

    # when
    pages, after = [], None
    while True:
        page = await notifications(client, bob.token, unread_only=True, first=2, after=after)
        pages.append(page)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    everything = await notifications(client, bob.token)

    # then
    assert [len(page["edges"]) for page in pages] == [2, 2, 1]
    assert [n["id"] for page in pages for n in nodes(page)] == unread_ids
    assert {n["readAt"] for page in pages for n in nodes(page)} == {None}
    assert {(page["totalCount"], page["unreadCount"]) for page in pages} == {(5, 5)}
    assert everything["totalCount"] == 7 and everything["unreadCount"] == 5
    assert [n["id"] for n in nodes(everything)] == [n["id"] for n in reversed(oldest_first)]
    assert [n["readAt"] is not None for n in nodes(everything)] == [False] * 5 + [True] * 2


async def test_marking_by_id_marks_the_viewers_own(client):
    # given
    team = await make_team(client)
    bob = team["bob"]
    await assigned_to(client, team, bob, 3)
    bobs = [n["id"] for n in nodes(await notifications(client, bob.token))]

    # when
    result = await mark_read(client, bob.token, ids=bobs[:2])

    # then
    assert result == {"marked": 2, "unreadCount": 1, "userErrors": []}
    read = {n["id"]: n["readAt"] is not None for n in nodes(await notifications(client, bob.token))}
    assert read == {bobs[0]: True, bobs[1]: True, bobs[2]: False}


async def test_another_members_notification_id_is_treated_like_one_that_does_not_exist(client):
    # given
    team = await make_team(client)
    bob, carol = team["bob"], team["carol"]
    await assigned_to(client, team, bob, 2)
    conversation = (await inbound(client, team.account, PHONE))["conversationId"]
    await assign(client, team.admin.token, conversation, carol.id)
    bobs = [n["id"] for n in nodes(await notifications(client, bob.token))]
    carols = [n["id"] for n in nodes(await notifications(client, carol.token))]
    missing = str(int(max(bobs + carols, key=int)) + 1000)

    # when: Bob names Carol's notification, alone and beside one of his own
    naming_carols = await mark_read(client, bob.token, ids=[bobs[0], carols[0]])
    naming_nothing = await mark_read(client, bob.token, ids=[bobs[1], missing])
    only_carols = await mark_read(client, bob.token, ids=[carols[0]])
    only_missing = await mark_read(client, bob.token, ids=[missing])

    # then: the answers reveal nothing about Carol's, and hers stays unread
    answer = lambda result: (result["marked"], result["userErrors"])  # noqa: E731
    assert answer(naming_carols) == answer(naming_nothing)
    assert answer(only_carols) == answer(only_missing)
    carol_after = await notifications(client, carol.token)
    assert carol_after["unreadCount"] == 1 and nodes(carol_after)[0]["readAt"] is None


async def test_marking_an_already_read_notification_changes_nothing(client):
    # given
    team = await make_team(client)
    bob = team["bob"]
    await assigned_to(client, team, bob, 1)
    notification = nodes(await notifications(client, bob.token))[0]["id"]
    await mark_read(client, bob.token, ids=[notification])

    # when
    result = await mark_read(client, bob.token, ids=[notification])

    # then
    assert result == {"marked": 0, "unreadCount": 0, "userErrors": []}


async def test_marking_all_read_marks_every_one_of_the_viewers_and_nobody_elses(client):
    # given
    team = await make_team(client)
    bob, carol = team["bob"], team["carol"]
    await assigned_to(client, team, bob, 3)
    conversation = (await inbound(client, team.account, PHONE))["conversationId"]
    await assign(client, team.admin.token, conversation, carol.id)

    # when
    result = await mark_read(client, bob.token, all=True)

    # then
    assert result == {"marked": 3, "unreadCount": 0, "userErrors": []}
    bobs = await notifications(client, bob.token)
    assert bobs["unreadCount"] == 0 and all(n["readAt"] for n in nodes(bobs))
    assert nodes(await notifications(client, bob.token, unread_only=True)) == []
    assert (await notifications(client, carol.token))["unreadCount"] == 1


@pytest.mark.parametrize("variables", [{"ids": ["1"], "all": True}, {}, {"all": False}])
async def test_marking_read_needs_either_ids_or_all(client, variables):
    # given
    team = await make_team(client)
    bob = team["bob"]
    await assigned_to(client, team, bob, 1)

    # when
    result = await mark_read(client, bob.token, **variables)

    # then
    assert [error["code"] for error in result["userErrors"]] == ["VALIDATION"]
    assert result["marked"] == 0 and result["unreadCount"] == 1
