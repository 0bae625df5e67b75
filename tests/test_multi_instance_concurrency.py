"""Races between two real instances on PostgreSQL: the database, not one process's event
loop, must decide. Each round fires the competing requests at both instances at once."""
from __future__ import annotations

import asyncio
import uuid

import pytest
import pytest_asyncio

from tests.support.deployment.environment import skip_reason
from tests.support.deployment.instances import deployment
from tests.support.deployment.store import fetch_all
from tests.support.deployment.teams import create_team
from tests.support.documents import operation
from tests.support.http import data, gql
from tests.support.webhook import inbound_message, post_inbound

pytestmark = [
    pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or ""),
    pytest.mark.asyncio(loop_scope="module"),
]

ASSIGN = operation("AssignConversation")
ROUNDS = 8


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cluster(tmp_path_factory):
    async with deployment(tmp_path_factory.mktemp("instances"), 2) as running:
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def team(cluster):
    async with cluster[0].http() as http:
        return await create_team(http, cluster.env, names=("bob", "carol", "dave"))


@pytest.fixture
async def http(cluster):
    # One client per instance, so the two requests of a round really run in parallel.
    async with cluster[0].http(timeout=20) as first, cluster[1].http(timeout=20) as second:
        yield first, second


def new_phone() -> str:
    return f"+1415555{uuid.uuid4().int % 10000:04d}"


async def test_simultaneous_expected_assignee_assignments_let_exactly_one_win(cluster, team, http):
    bob, carol, members = team["bob"], team["carol"], [team["bob"], team["carol"], team["dave"]]
    response = await post_inbound(http[0], team.account, inbound_message(new_phone()))
    conversation = response.json()["conversationId"]
    current: str | None = None

    for round_ in range(ROUNDS):
        # given: both members saw the same owner, and each hands it to someone else
        targets = [member for member in members if member.id != current][:2]
        before = await fetch_all(cluster.database_url,
                                 "SELECT id FROM assignment_event WHERE conversation_id = $1", int(conversation))

        # when: bob (via instance 1) and carol (via instance 2) reassign it, expecting that owner
        results = await asyncio.gather(
            gql(http[0], ASSIGN, {"conversationId": conversation, "assigneeId": targets[0].id,
                                   "expectedAssigneeId": current}, token=bob.token),
            gql(http[1], ASSIGN, {"conversationId": conversation, "assigneeId": targets[1].id,
                                   "expectedAssigneeId": current}, token=carol.token),
        )

        # then: exactly one wins, the other gets ASSIGNMENT_CONFLICT naming the winner
        payloads = [data(result)["assignConversation"] for result in results]
        winners = [(p, m) for p, m in zip(payloads, targets, strict=True) if p["userErrors"] == []]
        losers = [p for p in payloads if p["userErrors"] != []]
        assert len(winners) == 1 and len(losers) == 1, f"round {round_}: {payloads}"
        (won, winner) = winners[0]
        assert [e["code"] for e in losers[0]["userErrors"]] == ["ASSIGNMENT_CONFLICT"]
        assert won["conversation"]["assignee"]["id"] == winner.id
        # and: one history row, naming the previous owner
        rows = await fetch_all(cluster.database_url,
                               "SELECT assignee_id, previous_assignee_id FROM assignment_event "
                               "WHERE conversation_id = $1 ORDER BY id", int(conversation))
        assert len(rows) == len(before) + 1
        assert rows[-1] == {"assignee_id": int(winner.id), "previous_assignee_id": int(current) if current else None}
        current = winner.id
        # and: the stored state agrees
        (state,) = await fetch_all(cluster.database_url, "SELECT assignee_id FROM conversation WHERE id = $1",
                                   int(conversation))
        assert state["assignee_id"] == int(winner.id)


async def test_inbound_messages_for_the_same_new_contact_on_both_instances_make_one_conversation(cluster, team, http):
    for round_ in range(ROUNDS):
        phone = new_phone()

        # when: two different messages from a contact never seen before, one per instance
        responses = await asyncio.gather(
            post_inbound(http[0], team.account, inbound_message(phone, "first", f"first-{uuid.uuid4().hex}")),
            post_inbound(http[1], team.account, inbound_message(phone, "second", f"second-{uuid.uuid4().hex}")),
        )

        # then: both are stored, in one conversation of one contact
        assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
        bodies = [r.json() for r in responses]
        assert bodies[0]["conversationId"] == bodies[1]["conversationId"], f"round {round_}: {bodies}"
        assert not any(body["duplicate"] for body in bodies)
        contacts = await fetch_all(cluster.database_url, "SELECT id FROM contact WHERE account_id = $1 AND phone = $2",
                                   team.account.id, phone)
        assert len(contacts) == 1
        conversations = await fetch_all(cluster.database_url, "SELECT id FROM conversation WHERE contact_id = $1",
                                        contacts[0]["id"])
        assert [row["id"] for row in conversations] == [int(bodies[0]["conversationId"])]
        messages = await fetch_all(cluster.database_url, "SELECT body FROM message WHERE conversation_id = $1",
                                   conversations[0]["id"])
        assert sorted(row["body"] for row in messages) == ["first", "second"]


async def test_webhook_retries_of_one_id_racing_on_both_instances_store_one_message(cluster, team, http):
    for round_ in range(ROUNDS):
        phone, external_id = new_phone(), f"retry-{uuid.uuid4().hex}"

        # when: the provider's retries of one delivery reach both instances at once, twice each
        responses = await asyncio.gather(*(
            post_inbound(http[i % 2], team.account, inbound_message(phone, "only once", external_id)) for i in range(4)
        ))

        # then: every retry is answered 200 with the same message; exactly one stored it
        assert [r.status_code for r in responses] == [200] * 4, [r.text for r in responses]
        bodies = [r.json() for r in responses]
        assert len({body["messageId"] for body in bodies}) == 1, f"round {round_}: {bodies}"
        assert sorted(body["duplicate"] for body in bodies) == [False, True, True, True]
        messages = await fetch_all(cluster.database_url, "SELECT id FROM message WHERE account_id = $1 AND "
                                   "external_id = $2", team.account.id, external_id)
        assert len(messages) == 1
        # and: one event for it in the log (no event of a rolled-back attempt)
        events = await fetch_all(cluster.database_url, "SELECT seq FROM event WHERE account_id = $1 AND "
                                 "kind = 'message.created' AND (payload->>'message_id')::int = $2",
                                 team.account.id, messages[0]["id"])
        assert len(events) == 1


async def test_reassignments_and_inbound_messages_on_one_conversation_across_instances_all_succeed(cluster, team, http):
    # Both kinds of writer lock the account's event log and the conversation row; they
    # must take them in the same order, or PostgreSQL aborts one as a deadlock.
    phone = new_phone()
    conversation = (await post_inbound(http[0], team.account, inbound_message(phone))).json()["conversationId"]
    members = [team["bob"], team["carol"], team["dave"], None]

    async def reassign(client, index):
        assignee = members[index % len(members)]
        variables = {"conversationId": conversation, "assigneeId": assignee.id if assignee else None}
        return await gql(client, ASSIGN, variables, token=team.admin.token)

    for round_ in range(ROUNDS):
        # when: plain reassignments and customer messages hit both instances at once
        results = await asyncio.gather(
            *(reassign(http[i % 2], round_ + i) for i in range(4)),  # instance 1, 2, 1, 2
            *(post_inbound(http[(i + 1) % 2], team.account, inbound_message(phone, f"{round_}-{i}"))  # 2, 1, 2, 1
              for i in range(4)),
        )

        # then: every one of them succeeds
        assignments, deliveries = results[:4], results[4:]
        for result in assignments:
            assert data(result)["assignConversation"]["userErrors"] == [], f"round {round_}: {result}"
        assert [r.status_code for r in deliveries] == [200] * 4, f"round {round_}: {[r.text for r in deliveries]}"
