"""resolvers.assignment.assign_conversation: assign, reassign, unassign, compare-and-set,
no-ops, the checks it makes, and what it leaves behind (the conversation row, history,
the durable event, the new assignee's notification)."""
from __future__ import annotations

import asyncio

import pytest

from models import Conversation, ConversationStatus, Event, Notification, NotificationKind, Plan, Role, User
from resolvers.assignment import MAX_NOTE_LENGTH, AssignmentConflict, ExpectedAssignee, assign_conversation
from resolvers.errors import DomainError, ErrorCode
from resolvers.inbox import inbox_counts
from resolvers.members import new_user, update_user
from subscriptions.events import CONVERSATION_ASSIGNED, NOTIFICATION_CREATED
from tests.resolvers.conftest import (
    PASSWORD,
    Factory,
    Team,
    events,
    history,
    notifications_of,
    rows_per_assignee,
    stored,
    traces,
)


async def test_assigning_an_unassigned_conversation_stores_the_owner_history_and_event(factory: Factory, team: Team):
    # given
    conversation = await factory.conversation(team)

    # when
    result = await assign_conversation(team["bob"], str(conversation.id), team.id("carol"), note="  VIP customer ")

    # then
    assert result.assignee is not None and result.assignee.id == team["carol"].user_id
    after = await stored(conversation)
    assert after.assignee_id == team["carol"].user_id
    assert after.version == conversation.version + 1
    [row] = await history(conversation)
    assert (row.actor_id, row.assignee_id, row.previous_assignee_id, row.note) == (
        team["bob"].user_id, team["carol"].user_id, None, "VIP customer")
    [event] = await events(team.account, CONVERSATION_ASSIGNED)
    assert event.conversation_id == conversation.id
    assert event.payload["assignee_id"] == team["carol"].user_id
    assert event.payload["previous_assignee_id"] is None
    assert event.payload["actor_id"] == team["bob"].user_id
    assert event.payload["assignment_event_id"] == row.id


async def test_reassigning_records_the_exact_predecessor(factory: Factory, team: Team):
    # given: bob holds the conversation
    conversation = await factory.conversation(team)
    await assign_conversation(team["bob"], str(conversation.id), team.id("bob"))

    # when: the admin escalates it to carol
    await assign_conversation(team.admin, str(conversation.id), team.id("carol"), note="escalated")

    # then
    assert (await stored(conversation)).assignee_id == team["carol"].user_id
    first, second = await history(conversation)
    assert (first.previous_assignee_id, first.assignee_id) == (None, team["bob"].user_id)
    assert (second.actor_id, second.previous_assignee_id, second.assignee_id, second.note) == (
        team.admin.user_id, team["bob"].user_id, team["carol"].user_id, "escalated")
    assert [e.payload["previous_assignee_id"] for e in await events(team.account, CONVERSATION_ASSIGNED)] == [
        None, team["bob"].user_id]


async def test_unassigning_clears_the_owner_and_history_names_who_held_it(factory: Factory, team: Team):
    # given
    conversation = await factory.conversation(team)
    await assign_conversation(team["bob"], str(conversation.id), team.id("carol"))
    carols_notifications = len(await notifications_of(team["carol"]))

    # when
    result = await assign_conversation(team["bob"], str(conversation.id), None, note="back to the pool")

    # then
    assert result.assignee is None
    assert (await stored(conversation)).assignee_id is None
    last = (await history(conversation))[-1]
    assert (last.previous_assignee_id, last.assignee_id, last.note) == (team["carol"].user_id, None, "back to the pool")
    assert (await events(team.account, CONVERSATION_ASSIGNED))[-1].payload["assignee_id"] is None
    assert len(await notifications_of(team["carol"])) == carols_notifications


async def test_compare_and_set_succeeds_while_the_expected_member_still_holds_it(factory: Factory, team: Team):
    # given
    conversation = await factory.conversation(team)
    await assign_conversation(team["bob"], str(conversation.id), team.id("bob"))

    # when
    result = await assign_conversation(
        team["carol"], str(conversation.id), team.id("carol"), expected=ExpectedAssignee(team.id("bob")))

    # then
    assert result.assignee is not None and result.assignee.id == team["carol"].user_id
    assert (await stored(conversation)).assignee_id == team["carol"].user_id
    assert (await history(conversation))[-1].previous_assignee_id == team["bob"].user_id


async def test_compare_and_set_that_lost_the_race_reports_the_holder_and_changes_nothing(
    factory: Factory, team: Team
):
    # given: carol holds the conversation
    conversation = await factory.conversation(team)
    await assign_conversation(team["bob"], str(conversation.id), team.id("carol"))
    before = await stored(conversation)
    left_behind = await traces(conversation)

    # when: the admin expects bob to hold it
    with pytest.raises(AssignmentConflict) as raised:
        await assign_conversation(
            team.admin, str(conversation.id), team.id("admin"), expected=ExpectedAssignee(team.id("bob")))

    # then
    conflict = raised.value
    assert (conflict.code, conflict.field) == (ErrorCode.ASSIGNMENT_CONFLICT, "expectedAssigneeId")
    assert conflict.current.assignee is not None and conflict.current.assignee.id == team["carol"].user_id
    assert conflict.current.conversation.id == conversation.id
    assert conflict.current.conversation.assignee_id == team["carol"].user_id
    assert team["carol"].user.name in conflict.message
    after = await stored(conversation)
    assert (after.assignee_id, after.version) == (before.assignee_id, before.version)
    assert await traces(conversation) == left_behind


async def test_expecting_null_means_expecting_it_unassigned(factory: Factory, team: Team):
    # given: one unassigned conversation and one bob holds
    free = await factory.conversation(team)
    held = await factory.conversation(team)
    await assign_conversation(team["bob"], str(held.id), team.id("bob"))

    # when
    claimed = await assign_conversation(team["carol"], str(free.id), team.id("carol"), expected=ExpectedAssignee(None))
    with pytest.raises(AssignmentConflict) as raised:
        await assign_conversation(team["carol"], str(held.id), team.id("carol"), expected=ExpectedAssignee(None))

    # then
    assert claimed.assignee is not None and (await stored(free)).assignee_id == team["carol"].user_id
    assert raised.value.current.assignee is not None and raised.value.current.assignee.id == team["bob"].user_id
    assert (await stored(held)).assignee_id == team["bob"].user_id


async def test_a_conflict_on_an_unassigned_conversation_reports_nobody_as_the_holder(factory: Factory, team: Team):
    # given: bob expects carol to hold a conversation nobody holds
    conversation = await factory.conversation(team)

    # when
    with pytest.raises(AssignmentConflict) as raised:
        await assign_conversation(
            team["bob"], str(conversation.id), team.id("bob"), expected=ExpectedAssignee(team.id("carol")))

    # then
    assert raised.value.current.assignee is None
    assert "nobody" in raised.value.message
    assert (await stored(conversation)).assignee_id is None


@pytest.mark.parametrize("expect", [False, True], ids=["plain", "compare-and-set"])
async def test_assigning_to_the_current_holder_is_a_no_op(factory: Factory, team: Team, expect: bool):
    # given
    conversation = await factory.conversation(team)
    await assign_conversation(team["bob"], str(conversation.id), team.id("carol"))
    before = await stored(conversation)
    left_behind = await traces(conversation)

    # when
    result = await assign_conversation(
        team["bob"], str(conversation.id), team.id("carol"), note="again",
        expected=ExpectedAssignee(team.id("carol")) if expect else None,
    )

    # then
    assert result.assignee is not None and result.assignee.id == team["carol"].user_id
    assert (await stored(conversation)).version == before.version
    assert await traces(conversation) == left_behind


async def test_unassigning_an_unassigned_conversation_is_a_no_op(factory: Factory, team: Team):
    # given
    conversation = await factory.conversation(team)
    logged = await Event.all().count()

    # when
    result = await assign_conversation(team["bob"], str(conversation.id), None)

    # then
    assert result.assignee is None
    assert (await stored(conversation)).version == conversation.version
    assert await history(conversation) == []
    assert await Event.all().count() == logged


MALFORMED_IDS = ["abc", "", "0", "-1", "07", " 7", "+7", "7 ", "1_0", "７", "2147483648", "99999999999999999999"]


@pytest.mark.parametrize("raw", MALFORMED_IDS)
async def test_a_malformed_conversation_id_is_not_found(factory: Factory, team: Team, raw: str):
    # given
    conversation = await factory.conversation(team)

    # when
    with pytest.raises(DomainError) as raised:
        await assign_conversation(team["bob"], raw, team.id("bob"))

    # then
    assert (raised.value.code, raised.value.field) == (ErrorCode.NOT_FOUND, "conversationId")
    assert (await stored(conversation)).assignee_id is None


@pytest.mark.parametrize("raw", MALFORMED_IDS)
async def test_a_malformed_assignee_id_is_not_found(factory: Factory, team: Team, raw: str):
    # given
    conversation = await factory.conversation(team)

    # when
    with pytest.raises(DomainError) as raised:
        await assign_conversation(team["bob"], str(conversation.id), raw)

    # then
    assert (raised.value.code, raised.value.field) == (ErrorCode.NOT_FOUND, "assigneeId")
    assert await history(conversation) == []


@pytest.mark.parametrize("raw", MALFORMED_IDS)
async def test_a_malformed_expected_assignee_id_is_not_found(factory: Factory, team: Team, raw: str):
    # given
    conversation = await factory.conversation(team)

    # when
    with pytest.raises(DomainError) as raised:
        await assign_conversation(team["bob"], str(conversation.id), team.id("bob"), expected=ExpectedAssignee(raw))

    # then
    assert (raised.value.code, raised.value.field) == (ErrorCode.NOT_FOUND, "expectedAssigneeId")
    assert await history(conversation) == []


async def test_ids_of_rows_that_do_not_exist_are_not_found(factory: Factory, team: Team):
    # given
    conversation = await factory.conversation(team)
    missing = str(max(team.user_ids()) + 1000)

    # when
    with pytest.raises(DomainError) as no_conversation:
        await assign_conversation(team["bob"], str(conversation.id + 1000), team.id("bob"))
    with pytest.raises(DomainError) as no_member:
        await assign_conversation(team["bob"], str(conversation.id), missing)

    # then
    assert (no_conversation.value.code, no_conversation.value.field) == (ErrorCode.NOT_FOUND, "conversationId")
    assert (no_member.value.code, no_member.value.field) == (ErrorCode.NOT_FOUND, "assigneeId")
    assert await history(conversation) == []


async def test_another_accounts_conversation_is_not_found_and_stays_untouched(factory: Factory, team: Team):
    # given
    other = await factory.team()
    theirs = await factory.conversation(other)

    # when
    with pytest.raises(DomainError) as raised:
        await assign_conversation(team["bob"], str(theirs.id), team.id("bob"))

    # then
    assert (raised.value.code, raised.value.field) == (ErrorCode.NOT_FOUND, "conversationId")
    assert (await stored(theirs)).assignee_id is None
    assert await history(theirs) == []


async def test_another_accounts_member_is_not_found_as_assignee(factory: Factory, team: Team):
    # given
    other = await factory.team()
    conversation = await factory.conversation(team)

    # when
    with pytest.raises(DomainError) as raised:
        await assign_conversation(team["bob"], str(conversation.id), other.id("bob"))

    # then
    assert (raised.value.code, raised.value.field) == (ErrorCode.NOT_FOUND, "assigneeId")
    assert (await stored(conversation)).assignee_id is None


async def test_a_deactivated_member_cannot_be_assigned(factory: Factory, team: Team):
    # given
    conversation = await factory.conversation(team)
    await update_user(team.admin, team.id("carol"), active=False)

    # when
    with pytest.raises(DomainError) as raised:
        await assign_conversation(team["bob"], str(conversation.id), team.id("carol"))

    # then
    assert (raised.value.code, raised.value.field) == (ErrorCode.VALIDATION, "assigneeId")
    assert (await stored(conversation)).assignee_id is None
    assert await history(conversation) == []


async def test_an_analyst_cannot_be_assigned(factory: Factory, team: Team):
    # given: dave is an analyst, who reads but cannot reply
    conversation = await factory.conversation(team)

    # when
    with pytest.raises(DomainError) as raised:
        await assign_conversation(team["bob"], str(conversation.id), team.id("dave"))

    # then
    assert (raised.value.code, raised.value.field) == (ErrorCode.VALIDATION, "assigneeId")
    assert (await stored(conversation)).assignee_id is None
    assert await history(conversation) == []


RACE_ROUNDS = 50


async def test_assignment_racing_deactivation_never_leaves_an_inactive_member_holding_one(
    factory: Factory, team: Team
):
    # given: each round a new agent, and a conversation to hand them
    for round_ in range(RACE_ROUNDS):
        email = f"racer{round_}-{team.account.id}@team.test"
        member = await new_user(team.account, email=email, name=f"Racer {round_}", role=Role.AGENT,
                                password=PASSWORD)
        conversation = await factory.conversation(team)

        # when: bob assigns it to them while the admin deactivates them
        outcomes = await asyncio.gather(
            assign_conversation(team["bob"], str(conversation.id), str(member.id)),
            update_user(team.admin, str(member.id), active=False),
            return_exceptions=True,
        )

        # then: whichever came first, the member ends inactive and holds nothing, and a
        # refused assignment says why
        assigned = outcomes[0]
        if isinstance(assigned, BaseException):
            assert isinstance(assigned, DomainError) and assigned.code == ErrorCode.VALIDATION, outcomes
        assert not isinstance(outcomes[1], BaseException), outcomes
        assert not (await User.get(id=member.id)).active
        holding = await Conversation.filter(account_id=team.account.id, assignee_id=member.id).count()
        assert holding == 0, f"round {round_}: {outcomes}"
        counts = await inbox_counts(team.admin, ConversationStatus.OPEN)
        assert counts.all == counts.unassigned + sum(n for _, n in counts.by_assignee), f"round {round_}"


async def test_an_analyst_cannot_assign(factory: Factory, team: Team):
    # given
    conversation = await factory.conversation(team)

    # when
    with pytest.raises(DomainError) as raised:
        await assign_conversation(team["dave"], str(conversation.id), team.id("bob"))

    # then
    assert raised.value.code == ErrorCode.FORBIDDEN
    assert (await stored(conversation)).assignee_id is None
    assert await history(conversation) == []


async def test_the_starter_plan_has_no_assignment(factory: Factory):
    # given
    team = await factory.team(Plan.STARTER)
    conversation = await factory.conversation(team)

    # when
    with pytest.raises(DomainError) as raised:
        await assign_conversation(team.admin, str(conversation.id), team.id("bob"))

    # then
    assert raised.value.code == ErrorCode.FEATURE_NOT_IN_PLAN
    assert (await stored(conversation)).assignee_id is None
    assert await history(conversation) == []


@pytest.mark.parametrize(
    "note", ["x" * (MAX_NOTE_LENGTH + 1), "before\x00after"], ids=["one-character-too-long", "nul"]
)
async def test_an_unacceptable_note_is_refused_and_nothing_changes(factory: Factory, team: Team, note: str):
    # given
    conversation = await factory.conversation(team)

    # when
    with pytest.raises(DomainError) as raised:
        await assign_conversation(team["bob"], str(conversation.id), team.id("carol"), note=note)

    # then
    assert (raised.value.code, raised.value.field) == (ErrorCode.VALIDATION, "note")
    assert (await stored(conversation)).assignee_id is None
    assert await history(conversation) == []


async def test_a_note_of_the_maximum_length_is_stored_whole(factory: Factory, team: Team):
    # given
    conversation = await factory.conversation(team)
    note = "n" * MAX_NOTE_LENGTH

    # when
    await assign_conversation(team["bob"], str(conversation.id), team.id("carol"), note=note)

    # then
    assert [row.note for row in await history(conversation)] == [note]


async def test_two_concurrent_compare_and_sets_with_the_same_expectation_let_exactly_one_win(
    factory: Factory, team: Team
):
    # given: bob and carol both see the conversation unassigned and claim it at once
    conversation = await factory.conversation(team)
    claims = {
        name: assign_conversation(team[name], str(conversation.id), team.id(name), expected=ExpectedAssignee(None))
        for name in ("bob", "carol")
    }

    # when
    outcomes = dict(zip(claims, await asyncio.gather(*claims.values(), return_exceptions=True), strict=True))

    # then
    winners = [name for name, outcome in outcomes.items() if not isinstance(outcome, BaseException)]
    losers = [outcome for outcome in outcomes.values() if isinstance(outcome, BaseException)]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    winner, lost = team[winners[0]], losers[0]
    assert isinstance(lost, AssignmentConflict)
    assert lost.current.assignee is not None and lost.current.assignee.id == winner.user_id
    assert (await stored(conversation)).assignee_id == winner.user_id
    [row] = await history(conversation)
    assert (row.previous_assignee_id, row.assignee_id) == (None, winner.user_id)
    counts = await inbox_counts(team.admin, ConversationStatus.OPEN)
    rows = await rows_per_assignee(team.account, ConversationStatus.OPEN)
    assert (counts.all, counts.unassigned) == (1, 0)
    assert {user.id: n for user, n in counts.by_assignee if n} == {winner.user_id: 1} == dict(rows)


async def test_the_new_assignee_is_notified_by_whoever_assigned_it(factory: Factory, team: Team):
    # given
    conversation = await factory.conversation(team)

    # when
    await assign_conversation(team["bob"], str(conversation.id), team.id("carol"))

    # then
    [notification] = await notifications_of(team["carol"])
    assert (notification.kind, notification.conversation_id, notification.actor_id, notification.read_at) == (
        NotificationKind.ASSIGNED, conversation.id, team["bob"].user_id, None)
    [event] = await events(team.account, NOTIFICATION_CREATED)
    assert event.user_id == team["carol"].user_id
    assert event.payload["notification_id"] == notification.id
    assert await notifications_of(team["bob"]) == []


async def test_assigning_to_yourself_notifies_nobody(factory: Factory, team: Team):
    # given
    conversation = await factory.conversation(team)

    # when
    await assign_conversation(team["bob"], str(conversation.id), team.id("bob"))

    # then
    assert (await stored(conversation)).assignee_id == team["bob"].user_id
    assert await Notification.all().count() == 0
    assert await events(team.account, NOTIFICATION_CREATED) == []

