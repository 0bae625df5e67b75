"""The inbox_count counters (resolvers/counts.py) always equal a count of the
conversations themselves: after racing writes from several members, after a member's
deactivation, and when the migration fills them from existing rows."""
from __future__ import annotations

import asyncio
import importlib
import random

from tortoise import connections
from tortoise.functions import Count

from models import Account, Conversation, ConversationStatus, InboxCount, Role
from tests.support.documents import operation
from tests.support.http import gql, mutate
from tests.support.teams import make_team
from tests.support.webhook import inbound

READ_PATH_MIGRATION = importlib.import_module("models.migrations.0002_inbox_read_path").Migration


async def counted(account: Account) -> dict[tuple[str, int], int]:
    rows = await InboxCount.filter(account_id=account.id).exclude(count=0).values("status", "assignee_key", "count")
    return {(ConversationStatus(row["status"]).value, row["assignee_key"]): row["count"] for row in rows}


async def actual(account: Account) -> dict[tuple[str, int], int]:
    rows = (await Conversation.filter(account_id=account.id).annotate(n=Count("id"))
            .group_by("status", "assignee_id").values("status", "assignee_id", "n"))
    return {(ConversationStatus(row["status"]).value, row["assignee_id"] or 0): row["n"] for row in rows}


async def test_counters_survive_members_racing_each_other(client):
    # given: three members and a dozen conversations
    team = await make_team(client, roles={"bob": Role.AGENT, "carol": Role.AGENT})
    members = [team.admin, team["bob"], team["carol"]]
    phones = [f"+1415555{i:04d}" for i in range(12)]
    ids = [(await inbound(client, team.account, phone))["conversationId"] for phone in phones]
    rng = random.Random(5)

    async def act(i: int):
        actor = rng.choice(members)
        target = rng.choice(ids)
        kind = rng.choice(["assign", "unassign", "close", "reopen", "customer", "new"])
        if kind in ("assign", "unassign"):
            assignee = rng.choice(members).id if kind == "assign" else None
            await gql(client, operation("AssignConversation"), {"conversationId": target, "assigneeId": assignee},
                      token=actor.token)
        elif kind in ("close", "reopen"):
            await gql(client, operation("SetConversationStatus"),
                      {"conversationId": target, "status": "CLOSED" if kind == "close" else "OPEN"}, token=actor.token)
        else:
            await inbound(client, team.account, rng.choice(phones) if kind == "customer" else f"+1415666{i:04d}")

    # when: 80 changes, 8 at a time
    for start in range(0, 80, 8):
        await asyncio.gather(*(act(i) for i in range(start, start + 8)))

    # then
    assert await counted(team.account) == await actual(team.account)
    assert sum((await actual(team.account)).values()) >= len(ids)


async def test_deactivating_a_member_moves_their_count_to_unassigned(client):
    # given
    team = await make_team(client)
    for i in range(3):
        conversation_id = (await inbound(client, team.account, f"+1415555{i:04d}"))["conversationId"]
        await mutate(client, operation("AssignConversation"), {"conversationId": conversation_id,
                                                               "assigneeId": team["bob"].id}, team.admin.token)
    assert (await counted(team.account))[("OPEN", team["bob"].user.id)] == 3

    # when
    await mutate(client, operation("UpdateUser"), {"userId": team["bob"].id, "input": {"active": False}},
                 team.admin.token)

    # then
    assert await counted(team.account) == await actual(team.account) == {("OPEN", 0): 3}


async def test_the_migration_fills_counters_and_last_messages_as_writes_keep_them(client):
    # given: an account whose counters and last messages the app kept up to date
    team = await make_team(client)
    for i in range(4):
        conversation_id = (await inbound(client, team.account, f"+1415555{i:04d}", f"first {i}"))["conversationId"]
        if i % 2:
            await mutate(client, operation("AssignConversation"), {"conversationId": conversation_id,
                                                                   "assigneeId": team["carol"].id}, team.admin.token)
            await mutate(client, operation("SendMessage"), {"conversationId": conversation_id, "body": "reply"},
                         team["carol"].token)
        if i == 3:
            await mutate(client, operation("SetConversationStatus"), {"conversationId": conversation_id,
                                                                      "status": "CLOSED"}, team.admin.token)
    kept_counts = await counted(team.account)
    kept_last = dict(await Conversation.filter(account_id=team.account.id).values_list("id", "last_message_id"))

    # when: both are wiped and the migration's SQL runs again
    await InboxCount.all().delete()
    await Conversation.all().update(last_message_id=None)
    connection = connections.get("default")
    for operation_ in READ_PATH_MIGRATION.operations:
        if type(operation_).__name__ == "RunSQL":
            await connection.execute_script(operation_.sql)

    # then
    assert await counted(team.account) == kept_counts == await actual(team.account)
    assert dict(await Conversation.filter(account_id=team.account.id).values_list("id", "last_message_id")) == kept_last
    assert all(kept_last.values())
