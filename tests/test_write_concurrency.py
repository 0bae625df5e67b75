"""Writers of one account overlap (the account's lock is taken last, only around the
event rows: resolvers/outbox.py), so their row locks must never form a cycle. On
PostgreSQL a cycle is a deadlock error after a second, which would surface here as a
failed request; SQLite serialises writers and runs the same checks. Afterwards the
counters equal a count of the conversations and every change has its event."""
from __future__ import annotations

import asyncio

from models import AssignmentEvent, Event
from subscriptions.events import CONVERSATION_ASSIGNED
from tests.support.documents import operation
from tests.support.http import data, gql, mutate
from tests.support.teams import make_team
from tests.support.webhook import inbound
from tests.test_inbox_counters import actual, counted

ROUNDS = 12


async def assign(client, token: str, conversation_id: str, assignee_id: str | None) -> dict:
    result = data(await gql(client, operation("AssignConversation"),
                            {"conversationId": conversation_id, "assigneeId": assignee_id}, token=token))
    return result["assignConversation"]


async def assert_every_assignment_was_logged(account_id: int) -> None:
    """Each history row has its event in the log (written in the same transaction)."""
    history = await AssignmentEvent.filter(conversation__account_id=account_id).count()
    logged = await Event.filter(account_id=account_id, kind=CONVERSATION_ASSIGNED).count()
    assert history == logged > 0


async def test_opposite_reassignments_at_once_never_deadlock(client):
    # given: two conversations, one held by bob and one by carol
    team = await make_team(client)
    bob, carol = team["bob"], team["carol"]
    first = (await inbound(client, team.account, "+14155557001"))["conversationId"]
    second = (await inbound(client, team.account, "+14155557002"))["conversationId"]
    await mutate(client, operation("AssignConversation"), {"conversationId": first, "assigneeId": bob.id},
                 team.admin.token)
    await mutate(client, operation("AssignConversation"), {"conversationId": second, "assigneeId": carol.id},
                 team.admin.token)

    # when: each round swaps them at the same moment (counters bob<->carol in opposite
    # directions), with a customer writing into both meanwhile
    owners = {first: bob, second: carol}
    for _ in range(ROUNDS):
        answers = await asyncio.gather(
            assign(client, bob.token, first, (carol if owners[first] is bob else bob).id),
            assign(client, carol.token, second, (carol if owners[second] is bob else bob).id),
            inbound(client, team.account, "+14155557001", "still there?"),
            inbound(client, team.account, "+14155557002", "hello?"),
        )
        assert answers[0]["userErrors"] == [] and answers[1]["userErrors"] == [], answers
        owners = {first: carol if owners[first] is bob else bob, second: carol if owners[second] is bob else bob}

    # then
    assert await counted(team.account) == await actual(team.account)
    await assert_every_assignment_was_logged(team.account.id)
    held = {c["id"]: c["assignee"]["id"] for c in (
        data(await gql(client, "query($a: ID!, $b: ID!) { a: conversation(id: $a) { id assignee { id } } "
                               "b: conversation(id: $b) { id assignee { id } } }",
                       {"a": first, "b": second}, token=bob.token)).values())}
    assert held == {first: owners[first].id, second: owners[second].id}


async def test_deactivation_racing_assignments_status_changes_and_messages(client):
    # given: bob holds six conversations
    team = await make_team(client)
    bob, carol = team["bob"], team["carol"]
    ids = [(await inbound(client, team.account, f"+141555580{i:02d}"))["conversationId"] for i in range(6)]
    for conversation_id in ids:
        await mutate(client, operation("AssignConversation"), {"conversationId": conversation_id, "assigneeId": bob.id},
                     team.admin.token)

    # when: bob is deactivated while his conversations are reassigned, closed and written to
    deactivate = gql(client, "mutation($id: ID!) { updateUser(userId: $id, input: {active: false}) "
                             "{ user { active } userErrors { code } } }", {"id": bob.id}, token=team.admin.token)
    results = await asyncio.gather(
        deactivate,
        assign(client, carol.token, ids[0], carol.id),
        assign(client, carol.token, ids[1], None),
        gql(client, operation("SetConversationStatus"), {"conversationId": ids[2], "status": "CLOSED"},
            token=carol.token),
        inbound(client, team.account, "+14155558003", "anyone?"),
        inbound(client, team.account, "+14155558004", "hello"),
    )

    # then: every request was answered without error...
    assert data(results[0])["updateUser"]["userErrors"] == []
    assert results[1]["userErrors"] == [] and results[2]["userErrors"] == []
    assert data(results[3])["setConversationStatus"]["userErrors"] == []
    # ...bob holds nothing any more, and the counters agree with the conversations
    assert all(assignee != bob.user.id for (_, assignee) in (await actual(team.account)))
    assert await counted(team.account) == await actual(team.account)
    await assert_every_assignment_was_logged(team.account.id)
