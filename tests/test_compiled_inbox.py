"""The compiled inbox documents (schema/compiled) answer exactly what graphql-core
answers. Each request is sent twice: as the document's exact text (compiled) and with
a trailing comment (no longer an exact match, so the general path runs it); the two
bodies must be the same JSON, key order included. Error cases must decline to the
general path and so give the same error."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from models import Plan, Role
from tests.support.documents import operation
from tests.support.graphql_path import compiled_path_only
from tests.support.http import comparable_answer, mutate
from tests.support.statements import counting_statements
from tests.support.teams import make_team
from tests.support.webhook import inbound, post_inbound

# Each test compares the compiled path with the general one in the same app.
pytestmark = compiled_path_only

BASE = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
GENERAL = "\n# not the exact document: the general path runs it\n"
# Statements for a compiled InboxView: session, page, counters, members.
COMPILED_INBOX_VIEW_STATEMENTS = 4


async def both(client, name: str, variables: dict | None, token: str | None, operation_name=None):
    compiled = await comparable_answer(client, operation(name), variables, token, operation_name)
    general = await comparable_answer(client, operation(name) + GENERAL, variables, token, operation_name)
    return compiled, general


async def assert_same(client, name: str, variables: dict | None, token: str | None, operation_name=None) -> dict:
    compiled, general = await both(client, name, variables, token, operation_name)
    assert compiled == general
    assert compiled[0] == 200, compiled
    return orjson.loads(compiled[1])


@pytest.fixture
async def busy_team(client):
    """Conversations in every state the inbox shows: assigned to each member, unassigned,
    closed, with inbound and outbound last messages (outbound ones have an author), two at
    the same instant (cursor ties), a member deactivated after writing, names that sort
    differently by case."""
    team = await make_team(client, roles={"bob": Role.AGENT, "carol": Role.AGENT, "dave": Role.ANALYST,
                                          "erin": Role.AGENT})
    owners = [team.admin, team["bob"], team["carol"], None]
    conversations = []
    for i in range(14):
        at = BASE + timedelta(minutes=i if i != 7 else 6)  # 6 and 7 tie
        response = await post_inbound(client, team.account, {
            "id": f"ext-{i}", "from": f"+1415555{i:04d}", "to": "+14155550100", "body": f"Help {i}",
            "receivedAt": at.isoformat()})
        assert response.status_code == 200, response.text
        conversation_id = response.json()["conversationId"]
        conversations.append(conversation_id)
        owner = owners[i % len(owners)]
        if owner is not None:
            await mutate(client, operation("AssignConversation"),
                         {"conversationId": conversation_id, "assigneeId": owner.id}, team.admin.token)
        if i % 3 == 0:
            writer = team["erin"] if i % 2 else team["bob"]
            await mutate(client, operation("SendMessage"), {"conversationId": conversation_id, "body": f"On it {i}"},
                         writer.token)
        if i % 5 == 4:
            await mutate(client, operation("SetConversationStatus"),
                         {"conversationId": conversation_id, "status": "CLOSED"}, team["carol"].token)
    await mutate(client, operation("UpdateUser"), {"userId": team["carol"].id, "input": {"name": "aaron lower"}},
                 team.admin.token)
    await mutate(client, operation("UpdateUser"), {"userId": team["erin"].id, "input": {"active": False}},
                 team.admin.token)
    return team


def scopes(team) -> list[dict]:
    return [
        {}, {"scope": "ALL"}, {"scope": "MINE"}, {"scope": "UNASSIGNED"},
        {"scope": "USER", "assigneeId": team["bob"].id}, {"scope": "USER", "assigneeId": int(team.admin.id)},
        {"scope": "USER", "assigneeId": team["erin"].id},  # deactivated: holds nothing now
        {"status": "CLOSED"}, {"status": "CLOSED", "scope": "USER", "assigneeId": team["carol"].id},
        {"search": ""}, {"scope": "ALL", "assigneeId": None, "search": None},
    ]


async def test_every_page_of_every_view_is_the_same(client, busy_team):
    team = busy_team
    for viewer in (team.admin, team["bob"], team["dave"]):
        for view in scopes(team):
            after, pages = None, 0
            while True:
                body = await assert_same(client, "InboxView", {"filter": view, "first": 3, "after": after,
                                                               "status": view.get("status", "OPEN")}, viewer.token)
                page = body["data"]["inbox"]
                pages += 1
                if not page["pageInfo"]["hasNextPage"]:
                    break
                after = page["pageInfo"]["endCursor"]
            assert pages >= 1


async def test_the_page_shows_what_the_fixture_built(client, busy_team):
    body = await assert_same(client, "InboxView", {"first": 100, "status": "OPEN"}, busy_team.admin.token)
    nodes = [edge["node"] for edge in body["data"]["inbox"]["edges"]]
    counts = body["data"]["inboxCounts"]
    # 14 conversations, two of them (4 and 9) closed: 12 open, newest activity first.
    assert len(nodes) == 12
    activity = [node["lastActivityAt"] for node in nodes]
    assert activity == sorted(activity, reverse=True)
    assert any(node["lastMessage"]["direction"] == "OUTBOUND" and node["lastMessage"]["author"] for node in nodes)
    assert any(node["assignee"] is None for node in nodes)
    assert counts["all"] == 12 == counts["unassigned"] + sum(entry["count"] for entry in counts["byAssignee"])
    names = [entry["user"]["name"] for entry in counts["byAssignee"]]
    assert "aaron lower" in names and "Erin Tester" not in names  # renamed member listed, deactivated one not


@pytest.mark.parametrize("first", [None, 1, 2, 50, 100])
async def test_page_sizes(client, busy_team, first):
    await assert_same(client, "InboxPage", {"filter": {"scope": "ALL"}, "first": first}, busy_team["bob"].token)


@pytest.mark.parametrize("status", ["OPEN", "CLOSED"])
async def test_counts_alone(client, busy_team, status):
    for viewer in (busy_team.admin, busy_team["bob"], busy_team["carol"]):
        body = await assert_same(client, "InboxCounts", {"status": status}, viewer.token)
        assert body["data"]["inboxCounts"]["status"] == status


async def test_the_compiled_path_answers_in_four_statements(client, busy_team):
    with counting_statements() as statements:
        compiled = await comparable_answer(client, operation("InboxView"), {"first": 50, "status": "OPEN"},
                                           busy_team["bob"].token)
    with counting_statements() as general_statements:
        general = await comparable_answer(client, operation("InboxView") + GENERAL, {"first": 50, "status": "OPEN"},
                                          busy_team["bob"].token)
    assert compiled == general
    assert len(statements) == COMPILED_INBOX_VIEW_STATEMENTS, statements
    assert len(general_statements) > COMPILED_INBOX_VIEW_STATEMENTS  # so the test above really compared two paths


async def test_an_account_sees_only_its_own(client, busy_team):
    other = await make_team(client)
    await inbound(client, other.account, "+14155559999", "Elsewhere")
    body = await assert_same(client, "InboxView", {"first": 100, "status": "OPEN"}, other.admin.token)
    assert len(body["data"]["inbox"]["edges"]) == 1
    # Another account's member as the USER scope: the general path's NOT_FOUND.
    body = await assert_same(client, "InboxView", {"filter": {"scope": "USER", "assigneeId": busy_team["bob"].id},
                                                   "status": "OPEN"}, other.admin.token)
    assert body["errors"]


def declined_requests(team) -> list[tuple[str, dict | None, str | None]]:
    """Requests the general path answers with an error (or needs, like a search): the
    compiled path must decline every one, so both answers are the general one."""
    bob = team["bob"].token
    return [
        ("InboxView", {"status": "OPEN"}, None),  # no token
        ("InboxView", {"status": "OPEN"}, "not-a-token"),
        ("InboxView", {}, bob),  # $status is required
        ("InboxView", {"status": "open"}, bob),
        ("InboxView", {"status": None}, bob),
        ("InboxPage", {"first": 0}, bob),
        ("InboxPage", {"first": 101}, bob),
        ("InboxPage", {"first": "10"}, bob),
        ("InboxPage", {"first": 2.0}, bob),
        ("InboxPage", {"first": True}, bob),
        ("InboxPage", {"after": "bm90IGEgY3Vyc29y"}, bob),
        ("InboxPage", {"after": 7}, bob),
        ("InboxPage", {"filter": {"scope": "USER"}}, bob),
        ("InboxPage", {"filter": {"scope": "MINE", "assigneeId": team["bob"].id}}, bob),
        ("InboxPage", {"filter": {"scope": "USER", "assigneeId": "007"}}, bob),
        ("InboxPage", {"filter": {"scope": "USER", "assigneeId": "99999999"}}, bob),
        ("InboxPage", {"filter": {"scope": "USER", "assigneeId": 1.5}}, bob),
        ("InboxPage", {"filter": {"scope": "EVERYONE"}}, bob),
        ("InboxPage", {"filter": {"status": None}}, bob),
        ("InboxPage", {"filter": {"search": "Help"}}, bob),
        ("InboxPage", {"filter": {"search": "x\u0000"}}, bob),
        ("InboxPage", {"filter": {"colour": "red"}}, bob),
        ("InboxPage", {"filter": "OPEN"}, bob),
        ("InboxPage", {"unknown": 1}, bob),
        ("InboxCounts", {"status": "OPEN", "first": 3}, bob),
    ]


async def test_requests_with_errors_get_the_general_answer(client, busy_team):
    for name, variables, token in declined_requests(busy_team):
        compiled, general = await both(client, name, variables, token)
        assert compiled == general, (name, variables)


async def test_a_plan_without_the_feature_gets_the_general_answer(client):
    team = await make_team(client, plan=Plan.STARTER)
    await inbound(client, team.account, "+14155550123", "Hi")
    for variables in ({"status": "OPEN"}, {"filter": {"scope": "MINE"}, "status": "OPEN"}):
        body = await assert_same(client, "InboxView", variables, team["bob"].token)
        assert body["errors"][0]["extensions"]["code"] == "FEATURE_NOT_IN_PLAN"
    body = await assert_same(client, "InboxPage", {"filter": {"scope": "ALL"}}, team["bob"].token)
    assert len(body["data"]["inbox"]["edges"]) == 1  # ALL is in every plan: compiled


async def test_operation_name_must_match(client, busy_team):
    bob = busy_team["bob"].token
    body = await assert_same(client, "InboxView", {"status": "OPEN"}, bob, operation_name="InboxView")
    assert body["data"]["inbox"]["edges"]
    compiled, general = await both(client, "InboxView", {"status": "OPEN"}, bob, operation_name="Other")
    assert compiled == general
    # Well-formed, so 200 under application/json (GraphQL over HTTP), and no data: nothing ran.
    status, body = compiled
    assert status == 200
    assert orjson.loads(body) == {"errors": [{
        "message": "Unknown operation named 'Other'.", "extensions": {"code": "OPERATION_RESOLUTION_FAILURE"},
    }]}


async def test_malformed_bodies_still_reach_the_general_path(client, busy_team):
    token = busy_team["bob"].token
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    for raw in (b"{", b'"text"', orjson.dumps({"query": operation("InboxView"), "variables": [1]})):
        response = await client.post("/graphql", content=raw, headers=headers)
        assert response.status_code == 400, (raw, response.status_code)
    # Variables that are not an object, even falsy ones, are the general path's to judge.
    falsy: tuple[object, ...] = ([], 0, "", False)
    for variables in falsy:
        compiled = await client.post("/graphql", headers=headers, content=orjson.dumps(
            {"query": operation("InboxPage"), "variables": variables}))
        general = await client.post("/graphql", headers=headers, content=orjson.dumps(
            {"query": operation("InboxPage") + GENERAL, "variables": variables}))
        assert (compiled.status_code, compiled.content) == (general.status_code, general.content), variables
    # The server still serves the compiled path afterwards.
    body = await assert_same(client, "InboxView", {"status": "OPEN"}, token)
    assert body["data"]["inboxCounts"]["all"] == 12


async def test_revoked_and_deactivated_logins_are_refused(client, busy_team):
    team = busy_team
    token = team["bob"].token
    await mutate(client, "mutation { logout { userErrors { code } } }", {}, token)
    body = await assert_same(client, "InboxView", {"status": "OPEN"}, token)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    body = await assert_same(client, "InboxView", {"status": "OPEN"}, team["erin"].token)  # deactivated
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_counts_follow_writes(client, busy_team):
    team = busy_team
    before = (await assert_same(client, "InboxCounts", {"status": "OPEN"}, team["bob"].token))["data"]["inboxCounts"]
    conversation_id = (await inbound(client, team.account, "+14155558888", "New here"))["conversationId"]
    await mutate(client, operation("AssignConversation"),
                 {"conversationId": conversation_id, "assigneeId": team["bob"].id}, team.admin.token)
    after = (await assert_same(client, "InboxCounts", {"status": "OPEN"}, team["bob"].token))["data"]["inboxCounts"]
    assert after["all"] == before["all"] + 1
    assert after["mine"] == before["mine"] + 1
    assert after["unassigned"] == before["unassigned"]
