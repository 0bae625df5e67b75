"""Assignments racing each other over HTTP: compare-and-set lets exactly one win, and
the history stays an unbroken chain of owners."""
import asyncio
from itertools import pairwise

from models import AssignmentEvent, Conversation, Role
from tests.support.documents import operation
from tests.support.http import data, gql
from tests.support.teams import make_team
from tests.support.webhook import inbound

ASSIGN = operation("AssignConversation")
ROUNDS = 10


async def assign(client, token, conversation_id, assignee_id, **extra) -> dict:
    variables = {"conversationId": conversation_id, "assigneeId": assignee_id, **extra}
    return data(await gql(client, ASSIGN, variables, token=token))["assignConversation"]


async def history(conversation_id: str) -> list[AssignmentEvent]:
    return await AssignmentEvent.filter(conversation_id=int(conversation_id)).order_by("id")


async def test_two_members_racing_with_the_same_expectation_let_exactly_one_win(client):
    # given: bob and carol both see the same owner and each grab it for someone else
    team = await make_team(client, roles={"bob": Role.AGENT, "carol": Role.AGENT, "dave": Role.AGENT})
    members = [team["bob"], team["carol"], team["dave"]]
    conversation_id = (await inbound(client, team.account, "+14155550123"))["conversationId"]
    current: str | None = None

    for round_ in range(ROUNDS):
        targets = [m for m in members if m.id != current][:2]
        rows_before = len(await history(conversation_id))

        # when
        results = await asyncio.gather(
            assign(client, team["bob"].token, conversation_id, targets[0].id, expectedAssigneeId=current),
            assign(client, team["carol"].token, conversation_id, targets[1].id, expectedAssigneeId=current),
        )

        # then
        winners = [(r, t) for r, t in zip(results, targets, strict=True) if r["userErrors"] == []]
        losers = [r for r in results if r["userErrors"] != []]
        assert len(winners) == 1 and len(losers) == 1, f"round {round_}: {results}"
        (won, winner_target), lost = winners[0], losers[0]
        assert won["conversation"]["assignee"]["id"] == winner_target.id
        assert [e["code"] for e in lost["userErrors"]] == ["ASSIGNMENT_CONFLICT"]
        assert lost["conversation"]["assignee"]["id"] == winner_target.id
        assert winner_target.user.name in lost["userErrors"][0]["message"]
        rows = await history(conversation_id)
        assert len(rows) == rows_before + 1
        assert rows[-1].assignee_id == winner_target.user.id
        assert rows[-1].previous_assignee_id == (int(current) if current else None)
        current = winner_target.id

    stored = await Conversation.get(id=int(conversation_id))
    assert str(stored.assignee_id) == current
    assert len(await history(conversation_id)) == ROUNDS


async def test_racing_claims_of_fresh_conversations_expecting_unassigned(client):
    # given: each round a new unassigned conversation that bob and carol both claim
    team = await make_team(client)
    bob, carol = team["bob"], team["carol"]

    for round_ in range(ROUNDS):
        conversation_id = (await inbound(client, team.account, f"+1415555{round_:04d}"))["conversationId"]

        # when
        results = await asyncio.gather(
            assign(client, bob.token, conversation_id, bob.id, expectedAssigneeId=None),
            assign(client, carol.token, conversation_id, carol.id, expectedAssigneeId=None),
        )

        # then
        succeeded = [member for member, r in zip((bob, carol), results, strict=True) if r["userErrors"] == []]
        failed = [r for r in results if r["userErrors"] != []]
        assert len(succeeded) == 1 and len(failed) == 1, f"round {round_}: {results}"
        assert [e["code"] for e in failed[0]["userErrors"]] == ["ASSIGNMENT_CONFLICT"]
        assert failed[0]["conversation"]["assignee"]["id"] == succeeded[0].id
        rows = await history(conversation_id)
        assert [(r.assignee_id, r.previous_assignee_id) for r in rows] == [(succeeded[0].user.id, None)]


async def test_concurrent_reassignments_without_expectation_keep_a_consistent_history_chain(client):
    # given: ten members, each reassigned the same conversation at the same moment
    names = [f"m{i}" for i in range(ROUNDS)]
    team = await make_team(client, roles={name: Role.AGENT for name in names})
    members = [team[name] for name in names]
    conversation_id = (await inbound(client, team.account, "+14155550123"))["conversationId"]
    version_before = (await Conversation.get(id=int(conversation_id))).version

    # when
    results = await asyncio.gather(*(
        assign(client, member.token, conversation_id, member.id) for member in members
    ))

    # then
    assert all(r["userErrors"] == [] for r in results), results
    rows = await history(conversation_id)
    assert len(rows) == ROUNDS
    assert rows[0].previous_assignee_id is None
    for prior, row in pairwise(rows):
        assert row.previous_assignee_id == prior.assignee_id
    assert sorted(r.assignee_id for r in rows if r.assignee_id is not None) == sorted(m.user.id for m in members)
    stored = await Conversation.get(id=int(conversation_id))
    assert stored.assignee_id == rows[-1].assignee_id
    assert stored.version == version_before + ROUNDS
