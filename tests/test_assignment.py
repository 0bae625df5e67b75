"""Assigning, reassigning and unassigning over HTTP: one history row per change, none
for a no-op or a failure, and `expectedAssigneeId` as a compare-and-set."""
from models import AssignmentEvent, Notification, NotificationKind, Plan, Role
from tests.support.documents import operation
from tests.support.http import data, gql
from tests.support.teams import make_team
from tests.support.webhook import inbound

ASSIGN = operation("AssignConversation")
THREAD = operation("ConversationThread")
_OMIT = object()


async def assign(client, token, conversation_id, assignee_id, *, note=None, expected=_OMIT) -> dict:
    """assignConversation with the client document; `expected` omitted unless given
    (None is sent as an explicit null)."""
    variables = {"conversationId": conversation_id, "assigneeId": assignee_id, "note": note}
    if expected is not _OMIT:
        variables["expectedAssigneeId"] = expected
    return data(await gql(client, ASSIGN, variables, token=token))["assignConversation"]


async def thread(client, token, conversation_id) -> dict:
    return data(await gql(client, THREAD, {"id": conversation_id}, token=token))["conversation"]


async def history_count(conversation_id) -> int:
    return await AssignmentEvent.filter(conversation_id=int(conversation_id)).count()


async def new_conversation(client, team, phone="+14155550123") -> str:
    return (await inbound(client, team.account, phone, "Hello"))["conversationId"]


def codes(payload: dict) -> list[str]:
    return [error["code"] for error in payload["userErrors"]]


async def test_assign_writes_one_history_row_with_actor_assignee_and_note(client):
    # given
    team = await make_team(client)
    bob = team["bob"]
    conversation_id = await new_conversation(client, team)
    before = await thread(client, team.admin.token, conversation_id)

    # when
    result = await assign(client, team.admin.token, conversation_id, bob.id, note="  you are on call  ")

    # then
    after = await thread(client, team.admin.token, conversation_id)
    assert result["userErrors"] == []
    assert result["conversation"]["assignee"]["id"] == bob.id
    assert result["conversation"]["assignee"]["initials"] == "BT"
    assert result["conversation"]["version"] == before["version"] + 1
    [event] = after["assignmentHistory"]
    assert event["actor"]["id"] == team.admin.id
    assert event["assignee"]["id"] == bob.id
    assert event["previousAssignee"] is None
    assert event["note"] == "you are on call"
    assert event["createdAt"]
    assert await history_count(conversation_id) == 1


async def test_reassign_records_the_previous_assignee(client):
    # given: bob holds the conversation and escalates it to carol
    team = await make_team(client)
    bob, carol = team["bob"], team["carol"]
    conversation_id = await new_conversation(client, team)
    await assign(client, team.admin.token, conversation_id, bob.id)

    # when
    result = await assign(client, bob.token, conversation_id, carol.id, note="needs a manager")

    # then
    history = (await thread(client, carol.token, conversation_id))["assignmentHistory"]
    assert result["userErrors"] == []
    assert result["conversation"]["assignee"]["id"] == carol.id
    assert len(history) == 2
    assert history[1]["actor"]["id"] == bob.id
    assert history[1]["assignee"]["id"] == carol.id
    assert history[1]["previousAssignee"]["id"] == bob.id
    assert history[1]["note"] == "needs a manager"


async def test_unassign_with_null_assignee_writes_one_history_row(client):
    # given
    team = await make_team(client)
    bob = team["bob"]
    conversation_id = await new_conversation(client, team)
    assigned = await assign(client, team.admin.token, conversation_id, bob.id)

    # when
    result = await assign(client, bob.token, conversation_id, None)

    # then
    history = (await thread(client, bob.token, conversation_id))["assignmentHistory"]
    assert result["userErrors"] == []
    assert result["conversation"]["assignee"] is None
    assert result["conversation"]["version"] == assigned["conversation"]["version"] + 1
    assert len(history) == 2
    assert history[1]["assignee"] is None
    assert history[1]["previousAssignee"]["id"] == bob.id
    assert history[1]["actor"]["id"] == bob.id
    assert history[1]["note"] is None


async def test_assigning_to_the_current_assignee_is_a_no_op(client):
    # given
    team = await make_team(client)
    bob = team["bob"]
    conversation_id = await new_conversation(client, team)
    first = await assign(client, team.admin.token, conversation_id, bob.id)
    notifications_before = await Notification.filter(user_id=bob.user.id).count()

    # when
    again = await assign(client, team.admin.token, conversation_id, bob.id, note="again")
    unassigned_twice = await new_conversation(client, team, "+14155550124")
    noop_unassign = await assign(client, team.admin.token, unassigned_twice, None)

    # then
    assert again["userErrors"] == []
    assert again["conversation"]["assignee"]["id"] == bob.id
    assert again["conversation"]["version"] == first["conversation"]["version"]
    assert await history_count(conversation_id) == 1
    assert await Notification.filter(user_id=bob.user.id).count() == notifications_before
    assert noop_unassign["userErrors"] == []
    assert noop_unassign["conversation"]["assignee"] is None
    assert await history_count(unassigned_twice) == 0


async def test_note_of_1000_characters_is_accepted(client):
    # given
    team = await make_team(client)
    conversation_id = await new_conversation(client, team)

    # when
    result = await assign(client, team.admin.token, conversation_id, team["bob"].id, note="n" * 1000)

    # then
    assert result["userErrors"] == []
    assert (await AssignmentEvent.get(conversation_id=int(conversation_id))).note == "n" * 1000


async def test_note_over_1000_characters_is_a_validation_error_and_nothing_is_written(client):
    # given
    team = await make_team(client)
    bob = team["bob"]
    conversation_id = await new_conversation(client, team)
    before = await thread(client, team.admin.token, conversation_id)

    # when
    result = await assign(client, team.admin.token, conversation_id, bob.id, note="n" * 1001)

    # then
    after = await thread(client, team.admin.token, conversation_id)
    assert codes(result) == ["VALIDATION"]
    assert result["userErrors"][0]["field"] == "note"
    assert result["conversation"] is None
    assert after["assignee"] is None
    assert after["version"] == before["version"]
    assert await history_count(conversation_id) == 0
    assert await Notification.filter(user_id=bob.user.id).count() == 0


async def test_note_with_a_nul_character_is_a_validation_error(client):
    # given
    team = await make_team(client)
    conversation_id = await new_conversation(client, team)

    # when
    result = await assign(client, team.admin.token, conversation_id, team["bob"].id, note="on\x00call")

    # then
    assert codes(result) == ["VALIDATION"]
    assert result["userErrors"][0]["field"] == "note"
    assert await history_count(conversation_id) == 0


async def test_inactive_assignee_is_a_clean_user_error_and_nothing_changes(client):
    # given: carol is deactivated while bob holds the conversation
    team = await make_team(client)
    bob, carol = team["bob"], team["carol"]
    conversation_id = await new_conversation(client, team)
    await assign(client, team.admin.token, conversation_id, bob.id)
    deactivated = data(await gql(client, operation("UpdateUser"), {"userId": carol.id, "input": {"active": False}},
                                 token=team.admin.token))["updateUser"]
    assert deactivated["userErrors"] == []
    before = await thread(client, team.admin.token, conversation_id)

    # when
    result = await assign(client, team.admin.token, conversation_id, carol.id)

    # then
    after = await thread(client, team.admin.token, conversation_id)
    assert codes(result) == ["VALIDATION"]
    assert result["userErrors"][0]["field"] == "assigneeId"
    assert "deactivated" in result["userErrors"][0]["message"]
    assert after["assignee"]["id"] == bob.id
    assert after["version"] == before["version"]
    assert await history_count(conversation_id) == 1


async def test_assignee_of_another_account_is_not_found(client):
    # given
    team = await make_team(client)
    other = await make_team(client)
    conversation_id = await new_conversation(client, team)

    # when
    result = await assign(client, team.admin.token, conversation_id, other["bob"].id)

    # then
    after = await thread(client, team.admin.token, conversation_id)
    assert codes(result) == ["NOT_FOUND"]
    assert result["userErrors"][0]["field"] == "assigneeId"
    assert after["assignee"] is None
    assert await history_count(conversation_id) == 0
    assert await Notification.filter(user_id=other["bob"].user.id).count() == 0


async def test_conversation_of_another_account_is_not_found(client):
    # given
    team = await make_team(client)
    other = await make_team(client)
    conversation_id = await new_conversation(client, other)

    # when
    result = await assign(client, team.admin.token, conversation_id, team["bob"].id)

    # then
    assert codes(result) == ["NOT_FOUND"]
    assert result["conversation"] is None
    assert await history_count(conversation_id) == 0


async def test_matching_expected_assignee_succeeds(client):
    # given
    team = await make_team(client)
    bob, carol = team["bob"], team["carol"]
    conversation_id = await new_conversation(client, team)
    await assign(client, team.admin.token, conversation_id, bob.id)

    # when
    result = await assign(client, bob.token, conversation_id, carol.id, expected=bob.id)

    # then
    history = (await thread(client, bob.token, conversation_id))["assignmentHistory"]
    assert result["userErrors"] == []
    assert result["conversation"]["assignee"]["id"] == carol.id
    assert [row["assignee"]["id"] for row in history] == [bob.id, carol.id]
    assert history[1]["previousAssignee"]["id"] == bob.id


async def test_stale_expected_assignee_is_a_conflict_showing_the_current_assignee(client):
    # given: carol took the conversation after the admin's screen showed bob
    team = await make_team(client, roles={"bob": Role.AGENT, "carol": Role.AGENT, "dave": Role.AGENT})
    bob, carol, dave = team["bob"], team["carol"], team["dave"]
    conversation_id = await new_conversation(client, team)
    await assign(client, team.admin.token, conversation_id, bob.id)
    taken = await assign(client, carol.token, conversation_id, carol.id)
    dave_notifications = await Notification.filter(user_id=dave.user.id).count()

    # when
    result = await assign(client, team.admin.token, conversation_id, dave.id, note="stale", expected=bob.id)

    # then
    assert codes(result) == ["ASSIGNMENT_CONFLICT"]
    assert result["userErrors"][0]["field"] == "expectedAssigneeId"
    assert carol.user.name in result["userErrors"][0]["message"]
    assert result["conversation"]["id"] == conversation_id
    assert result["conversation"]["assignee"]["id"] == carol.id
    assert result["conversation"]["version"] == taken["conversation"]["version"]
    assert await history_count(conversation_id) == 2
    assert await Notification.filter(user_id=dave.user.id).count() == dave_notifications


async def test_explicit_null_expected_assignee_means_expect_unassigned(client):
    # given: one unassigned conversation and one held by bob
    team = await make_team(client)
    bob, carol = team["bob"], team["carol"]
    unassigned = await new_conversation(client, team, "+14155550123")
    held = await new_conversation(client, team, "+14155550124")
    await assign(client, team.admin.token, held, bob.id)

    # when
    claimed = await assign(client, carol.token, unassigned, carol.id, expected=None)
    refused = await assign(client, carol.token, held, carol.id, expected=None)

    # then
    assert claimed["userErrors"] == []
    assert claimed["conversation"]["assignee"]["id"] == carol.id
    assert codes(refused) == ["ASSIGNMENT_CONFLICT"]
    assert refused["conversation"]["assignee"]["id"] == bob.id
    assert await history_count(unassigned) == 1
    assert await history_count(held) == 1


async def test_omitted_expected_assignee_overwrites_whoever_holds_it(client):
    # given
    team = await make_team(client)
    bob, carol = team["bob"], team["carol"]
    conversation_id = await new_conversation(client, team)
    await assign(client, team.admin.token, conversation_id, bob.id)

    # when: no expectation at all (the variable is not sent)
    result = await assign(client, carol.token, conversation_id, carol.id)

    # then
    assert result["userErrors"] == []
    assert result["conversation"]["assignee"]["id"] == carol.id
    assert await history_count(conversation_id) == 2


async def test_version_increases_with_every_change_and_only_then(client):
    # given
    team = await make_team(client)
    bob, carol = team["bob"], team["carol"]
    conversation_id = await new_conversation(client, team)
    start = (await thread(client, bob.token, conversation_id))["version"]

    # when
    versions = []
    for assignee in [bob.id, bob.id, carol.id, None, None]:
        versions.append((await assign(client, team.admin.token, conversation_id, assignee))["conversation"]["version"])

    # then
    assert versions == [start + 1, start + 1, start + 2, start + 3, start + 3]
    assert await history_count(conversation_id) == 3


async def test_assigning_someone_else_notifies_them_and_self_assignment_does_not(client):
    # given
    team = await make_team(client)
    bob, carol = team["bob"], team["carol"]
    first = await new_conversation(client, team, "+14155550123")
    second = await new_conversation(client, team, "+14155550124")

    # when
    await assign(client, team.admin.token, first, bob.id)
    await assign(client, carol.token, second, carol.id)

    # then
    bob_notifications = await Notification.filter(user_id=bob.user.id)
    assert [(n.kind, n.conversation_id, n.actor_id) for n in bob_notifications] == [
        (NotificationKind.ASSIGNED, int(first), team.admin.user.id)
    ]
    assert await Notification.filter(user_id=carol.user.id).count() == 0


async def test_analyst_cannot_assign(client):
    # given
    team = await make_team(client, roles={"bob": Role.AGENT, "ann": Role.ANALYST})
    conversation_id = await new_conversation(client, team)

    # when
    result = await assign(client, team["ann"].token, conversation_id, team["bob"].id)

    # then
    assert codes(result) == ["FORBIDDEN"]
    assert await history_count(conversation_id) == 0


async def test_entry_plan_cannot_assign(client):
    # given
    team = await make_team(client, plan=Plan.STARTER)
    conversation_id = await new_conversation(client, team)

    # when
    result = await assign(client, team.admin.token, conversation_id, team["bob"].id)

    # then
    assert codes(result) == ["FEATURE_NOT_IN_PLAN"]
    assert await history_count(conversation_id) == 0
