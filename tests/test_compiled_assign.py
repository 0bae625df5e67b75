"""The compiled AssignConversation (schema/compiled/assign.py) answers exactly what
graphql-core answers, and changes the same data.

A mutation cannot be sent twice to the same state, so every case runs on two twin
conversations prepared alike: the exact document (compiled) on one, the document with a
trailing comment (the general path) on the other. The answers must be the same JSON,
key order included, once the twin's id is swapped for the first's; so must each twin's
assignment history afterwards."""
from __future__ import annotations

from itertools import count

import orjson
import pytest

from models import Plan, Role
from schema.compiled import compiled_operation
from tests.support.documents import operation
from tests.support.graphql_path import compiled_path_only
from tests.support.http import comparable_answer, data, gql, mutate
from tests.support.teams import make_team
from tests.support.webhook import inbound

_phones = count(1)
GENERAL = "\n# not the exact document: the general path runs it\n"
ASSIGN = operation("AssignConversation")
DEACTIVATE = "mutation($id: ID!) { updateUser(userId: $id, input: {active: false}) { userErrors { code } } }"
HISTORY = """query($id: ID!) { conversation(id: $id) { version assignee { id }
  assignmentHistory { actor { id } assignee { id } previousAssignee { id } note } } }"""


@pytest.fixture
async def team(client):
    return await make_team(client, roles={"bob": Role.AGENT, "carol": Role.AGENT, "dave": Role.ANALYST,
                                          "erin": Role.AGENT})


async def twins(client, team, owner=None) -> tuple[str, str]:
    """Two conversations in the same state: open, held by `owner` (None: nobody)."""
    ids = []
    for _ in range(2):
        conversation_id = (await inbound(client, team.account, f"+1415556{next(_phones):04d}", "Hi"))["conversationId"]
        if owner is not None:
            await mutate(client, operation("AssignConversation"),
                         {"conversationId": conversation_id, "assigneeId": owner.id}, team.admin.token)
        ids.append(conversation_id)
    return ids[0], ids[1]


async def history(client, team, conversation_id: str) -> dict:
    return data(await gql(client, HISTORY, {"id": conversation_id}, token=team.admin.token))["conversation"]


async def assert_twins_agree(client, team, variables: dict, token: str | None, owner=None) -> dict:
    """Run `variables` (with `conversationId` filled in) compiled on one twin and general
    on the other; both answers and both histories must agree. Returns the answer."""
    first, second = await twins(client, team, owner)
    compiled = await comparable_answer(client, ASSIGN, {**variables, "conversationId": first}, token)
    general = await comparable_answer(client, ASSIGN + GENERAL, {**variables, "conversationId": second}, token)
    assert compiled[0] == general[0] == 200, (compiled, general)
    assert compiled[1] == _as_if_on(general[1], second, first)
    assert await history(client, team, first) == await history(client, team, second)
    return orjson.loads(compiled[1])


def _as_if_on(answer: bytes, twin: str, conversation_id: str) -> bytes:
    """The twin's answer with its conversation id swapped for the other's."""
    body = orjson.loads(answer)
    conversation = ((body.get("data") or {}).get("assignConversation") or {}).get("conversation")
    if conversation is not None:
        assert conversation["id"] == twin
        conversation["id"] = conversation_id
    return orjson.dumps(body)


def test_the_exact_document_is_compiled():
    compiled = compiled_operation(operation("AssignConversation"), "AssignConversation")
    assert compiled is not None and compiled.mutates
    assert compiled_operation(operation("AssignConversation") + GENERAL, None) is None


@compiled_path_only  # compares the compiled path with the general one in the same app
async def test_assign_reassign_unassign_and_no_change(client, team):
    bob, carol = team["bob"], team["carol"]
    # given / when / then: each change gives the same answer and history both ways
    body = await assert_twins_agree(client, team, {"assigneeId": bob.id}, team.admin.token)
    assert body["data"]["assignConversation"]["conversation"]["assignee"]["id"] == bob.id
    body = await assert_twins_agree(client, team, {"assigneeId": carol.id, "note": " escalated "}, bob.token, owner=bob)
    assert body["data"]["assignConversation"]["conversation"]["assignee"] == {
        "id": carol.id, "name": "Carol Tester", "initials": "CT"}
    body = await assert_twins_agree(client, team, {"assigneeId": None}, bob.token, owner=bob)
    assert body["data"]["assignConversation"]["conversation"]["assignee"] is None
    body = await assert_twins_agree(client, team, {}, bob.token, owner=bob)  # assigneeId absent: unassign
    assert body["data"]["assignConversation"]["conversation"]["assignee"] is None
    body = await assert_twins_agree(client, team, {"assigneeId": bob.id}, carol.token, owner=bob)  # already so
    assert body["data"]["assignConversation"]["conversation"]["version"] == 2


@compiled_path_only
async def test_compare_and_set_both_ways(client, team):
    bob, carol = team["bob"], team["carol"]
    body = await assert_twins_agree(client, team, {"assigneeId": carol.id, "expectedAssigneeId": bob.id},
                                    carol.token, owner=bob)
    assert body["data"]["assignConversation"]["userErrors"] == []
    body = await assert_twins_agree(client, team, {"assigneeId": carol.id, "expectedAssigneeId": None},
                                    carol.token, owner=bob)
    errors = body["data"]["assignConversation"]["userErrors"]
    assert [e["code"] for e in errors] == ["ASSIGNMENT_CONFLICT"]
    assert body["data"]["assignConversation"]["conversation"]["assignee"]["id"] == bob.id  # as it is now
    body = await assert_twins_agree(client, team, {"assigneeId": bob.id, "expectedAssigneeId": bob.id},
                                    carol.token, owner=bob)
    assert body["data"]["assignConversation"]["userErrors"] == []


@compiled_path_only
async def test_expected_failures_are_the_same_user_errors(client, team):
    other = await make_team(client)
    await mutate(client, DEACTIVATE, {"id": team["erin"].id}, team.admin.token)
    cases = [
        ({"assigneeId": "999999"}, team.admin.token, "NOT_FOUND"),
        ({"assigneeId": other.admin.id}, team.admin.token, "NOT_FOUND"),  # another account's member
        ({"assigneeId": "07"}, team.admin.token, "NOT_FOUND"),
        ({"assigneeId": team["erin"].id}, team.admin.token, "VALIDATION"),  # deactivated
        ({"assigneeId": team["bob"].id, "note": "x" * 1001}, team.admin.token, "VALIDATION"),
        ({"assigneeId": team["bob"].id, "note": "a\x00b"}, team.admin.token, "VALIDATION"),
        ({"assigneeId": team["bob"].id}, team["dave"].token, "FORBIDDEN"),  # analysts read only
    ]
    for variables, token, code in cases:
        body = await assert_twins_agree(client, team, variables, token)
        assert [e["code"] for e in body["data"]["assignConversation"]["userErrors"]] == [code], variables


@compiled_path_only
async def test_ids_that_are_not_found_alike(client, team):
    other = await make_team(client)
    elsewhere = (await inbound(client, other.account, "+14155550999", "Hi"))["conversationId"]
    for conversation_id in (elsewhere, "999999", "abc", "", "1e3"):
        variables = {"conversationId": conversation_id, "assigneeId": team["bob"].id}
        compiled = await comparable_answer(client, ASSIGN, variables, team.admin.token)
        general = await comparable_answer(client, ASSIGN + GENERAL, variables, team.admin.token)
        assert compiled == general, conversation_id
        assert b'"NOT_FOUND"' in compiled[1]
    assert (await history(client, other, elsewhere))["assignee"] is None  # untouched


@compiled_path_only
async def test_plan_auth_and_odd_variables_get_the_general_answer(client, team):
    starter = await make_team(client, plan=Plan.STARTER)
    conversation_id = (await inbound(client, starter.account, "+14155550998", "Hi"))["conversationId"]
    assignee = starter["bob"].id
    requests = [
        ({"conversationId": conversation_id, "assigneeId": assignee}, starter.admin.token),  # FEATURE_NOT_IN_PLAN
        ({"conversationId": conversation_id, "assigneeId": assignee}, None),  # UNAUTHENTICATED
        ({"conversationId": conversation_id, "assigneeId": assignee}, "not-a-token"),
        ({"conversationId": int(conversation_id), "assigneeId": assignee}, starter.admin.token),  # coerced by graphql
        ({"conversationId": conversation_id, "assigneeId": 5}, starter.admin.token),
        ({"conversationId": conversation_id, "note": ["x"]}, starter.admin.token),
        ({"conversationId": conversation_id, "unknown": 1}, starter.admin.token),
        ({"assigneeId": assignee}, starter.admin.token),  # conversationId missing
        ({"conversationId": None}, starter.admin.token),
    ]
    for variables, token in requests:
        compiled = await comparable_answer(client, ASSIGN, variables, token)
        general = await comparable_answer(client, ASSIGN + GENERAL, variables, token)
        assert compiled == general, variables
    assert (await history(client, starter, conversation_id))["assignee"] is None


@compiled_path_only
async def test_an_unexpected_failure_is_masked_alike_and_runs_once(client, team, monkeypatch, caplog):
    # given: the history write fails (a defect), on both paths
    import resolvers.assignment

    calls = []

    async def broken(*args, **kwargs):
        calls.append(args)
        raise RuntimeError("defect")

    monkeypatch.setattr(resolvers.assignment, "record_assignment", broken)
    first, second = await twins(client, team)

    # when
    bob = team["bob"].id
    compiled = await comparable_answer(client, ASSIGN, {"conversationId": first, "assigneeId": bob}, team.admin.token)
    general = await comparable_answer(client, ASSIGN + GENERAL, {"conversationId": second, "assigneeId": bob},
                                      team.admin.token)

    # then: the same masked error, each mutation tried once (the compiled one did not
    # fall back to the general path), nothing changed
    assert compiled == general
    assert [r.getMessage() for r in caplog.records if r.name == "server.compiled_route"] == [
        "compiled AssignConversation failed"]
    assert orjson.loads(compiled[1])["errors"][0]["message"] == "Internal server error"
    assert len(calls) == 2
    assert (await history(client, team, first)) == (await history(client, team, second))
    assert (await history(client, team, first))["assignee"] is None
