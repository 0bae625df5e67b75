"""The audit log over HTTP: each change of access writes exactly one entry (actor,
target, before, after) with the change, a no-op or a failed change writes none, only
admins read it, only their own account's, page by page without skip or repeat, and a
webhook secret is never in it."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import pytest

from models import AuditEntry, Role
from tests.support.documents import operation
from tests.support.http import data, error_codes, gql, mutate
from tests.support.teams import PASSWORD, Team, make_team

# Not a shipped client document (graphql/operations/ holds those): the whole entry, as an
# admin's audit screen would select it.
AUDIT_LOG = """
query AuditLog($first: Int, $after: String) {
  auditLog(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      cursor
      node {
        id action at address
        actor { id }
        target { id }
        before { role active plan email name }
        after { role active plan email name }
      }
    }
  }
}
"""
CREATE_USER = operation("CreateUser")
UPDATE_USER = operation("UpdateUser")
SET_PLAN = operation("SetAccountPlan")
ROTATE = operation("RotateWebhookSecret")
ACCOUNT_SETTINGS = operation("AccountSettings")
DORA = {"email": "dora@example.test", "name": "Dora Explorer", "role": "ANALYST", "password": "dora-secret-pass"}


def values(**given: Any) -> dict[str, Any]:
    """An AuditValues as the API answers it: what is not given is null."""
    return {"role": None, "active": None, "plan": None, "email": None, "name": None, **given}


async def audit_log(client, token: str, first: int | None = 100, after: str | None = None) -> dict:
    return data(await gql(client, AUDIT_LOG, {"first": first, "after": after}, token=token))["auditLog"]


async def entries(client, token: str) -> list[dict]:
    """The account's whole log, newest first (tests keep it under one page)."""
    log = await audit_log(client, token)
    assert log["pageInfo"]["hasNextPage"] is False
    return [edge["node"] for edge in log["edges"]]


async def new_entries(client, team: Team, change: Callable[[], Awaitable[object]]) -> list[dict]:
    """The entries `change` wrote, newest first."""
    before = {entry["id"] for entry in await entries(client, team.admin.token)}
    await change()
    return [entry for entry in await entries(client, team.admin.token) if entry["id"] not in before]


def who(entry: dict) -> tuple[str | None, str | None]:
    return (entry["actor"] or {}).get("id"), (entry["target"] or {}).get("id")


async def update_user(client, team: Team, member_id: str, **changes: Any) -> dict:
    return await mutate(client, UPDATE_USER, {"userId": member_id, "input": changes}, team.admin.token)


# -- each change, one entry -------------------------------------------------------------


async def test_creating_a_member_writes_one_entry_without_the_password(client):
    # given
    team = await make_team(client)

    # when
    created: dict = {}

    async def create() -> None:
        created.update(await mutate(client, CREATE_USER, {"input": DORA}, team.admin.token))

    written = await new_entries(client, team, create)

    # then
    [entry] = written
    assert entry["action"] == "MEMBER_CREATED"
    assert who(entry) == (team.admin.id, created["user"]["id"])
    assert entry["before"] is None
    assert entry["after"] == values(email="dora@example.test", name="Dora Explorer", role="ANALYST")
    assert entry["address"] is None and entry["at"]
    assert DORA["password"] not in orjson.dumps(written).decode()


# name -> (the change, given the team; action, whether it is about bob, before, after)
CHANGES: dict[str, tuple[Callable[[Any, Team], Awaitable[object]], str, bool, dict | None, dict | None]] = {
    "role": (lambda client, team: update_user(client, team, team["bob"].id, role="ANALYST"),
             "ROLE_CHANGED", True, values(role="AGENT"), values(role="ANALYST")),
    "promotion": (lambda client, team: update_user(client, team, team["bob"].id, role="ADMIN"),
                  "ROLE_CHANGED", True, values(role="AGENT"), values(role="ADMIN")),
    "deactivation": (lambda client, team: update_user(client, team, team["bob"].id, active=False),
                     "MEMBER_DEACTIVATED", True, values(active=True), values(active=False)),
    "plan": (lambda client, team: mutate(client, SET_PLAN, {"plan": "ENTERPRISE"}, team.admin.token),
             "PLAN_CHANGED", False, values(plan="TEAM"), values(plan="ENTERPRISE")),
    "webhook secret": (lambda client, team: mutate(client, ROTATE, {}, team.admin.token),
                       "WEBHOOK_SECRET_ROTATED", False, None, None),
}


@pytest.mark.parametrize("change, action, about_bob, before, after", CHANGES.values(), ids=CHANGES.keys())
async def test_each_change_writes_exactly_one_entry_with_actor_target_before_and_after(
    client, change, action, about_bob, before, after
):
    # given
    team = await make_team(client)

    # when
    written = await new_entries(client, team, lambda: change(client, team))

    # then
    [entry] = written
    assert entry["action"] == action
    assert who(entry) == (team.admin.id, team["bob"].id if about_bob else None)
    assert (entry["before"], entry["after"]) == (before, after)


async def test_reactivating_a_member_writes_one_entry(client):
    # given
    team = await make_team(client)
    bob = team["bob"]
    await update_user(client, team, bob.id, active=False)

    # when
    written = await new_entries(client, team, lambda: update_user(client, team, bob.id, active=True))

    # then
    [entry] = written
    assert entry["action"] == "MEMBER_REACTIVATED"
    assert who(entry) == (team.admin.id, bob.id)
    assert (entry["before"], entry["after"]) == (values(active=False), values(active=True))


async def test_a_role_change_and_a_deactivation_at_once_are_two_entries_and_a_rename_none(client):
    # given
    team = await make_team(client)
    bob = team["bob"]

    # when
    written = await new_entries(
        client, team, lambda: update_user(client, team, bob.id, name="Robert Tester", role="ANALYST", active=False)
    )

    # then
    assert sorted((entry["action"], entry["before"], entry["after"]) for entry in written) == sorted([
        ("ROLE_CHANGED", values(role="AGENT"), values(role="ANALYST")),
        ("MEMBER_DEACTIVATED", values(active=True), values(active=False)),
    ])
    assert {who(entry) for entry in written} == {(team.admin.id, bob.id)}


async def test_the_first_admin_made_from_the_command_line_has_no_actor(client):
    # given: make_team creates the account as `teaminbox create-account` does
    team = await make_team(client)

    # when
    *_, entry = await entries(client, team.admin.token)  # the oldest

    # then
    assert entry["action"] == "MEMBER_CREATED"
    assert who(entry) == (None, team.admin.id)
    assert entry["after"] == values(email=team.admin.user.email, name=team.admin.user.name, role="ADMIN")


# -- what writes nothing -------------------------------------------------------------------

NO_OPS: dict[str, Callable[[Any, Team], Awaitable[object]]] = {
    "a rename": lambda client, team: update_user(client, team, team["bob"].id, name="Robert Tester"),
    "the same role": lambda client, team: update_user(client, team, team["bob"].id, role="AGENT"),
    "active again": lambda client, team: update_user(client, team, team["bob"].id, active=True),
    "the same role and state": lambda client, team: update_user(client, team, team["bob"].id, role="AGENT",
                                                                active=True),
    "the same plan": lambda client, team: mutate(client, SET_PLAN, {"plan": "TEAM"}, team.admin.token),
}


@pytest.mark.parametrize("change", NO_OPS.values(), ids=NO_OPS.keys())
async def test_a_change_to_what_already_is_writes_no_entry(client, change):
    # given
    team = await make_team(client)

    # when
    written = await new_entries(client, team, lambda: change(client, team))

    # then
    assert written == []


FAILURES: dict[str, tuple[str, dict]] = {
    "demoting the last admin": ("updateUser", {"role": "AGENT"}),
    "deactivating the last admin": ("updateUser", {"active": False}),
    "a duplicate email": ("createUser", {}),
}


@pytest.mark.parametrize("mutation, changes", FAILURES.values(), ids=FAILURES.keys())
async def test_a_change_that_fails_writes_no_entry(client, mutation, changes):
    # given
    team = await make_team(client)
    before = await entries(client, team.admin.token)

    # when
    if mutation == "updateUser":
        variables: dict = {"userId": team.admin.id, "input": {"name": "Renamed Admin", **changes}}
        result = data(await gql(client, UPDATE_USER, variables, token=team.admin.token))
    else:
        taken = {**DORA, "email": team["bob"].user.email, "role": "ADMIN"}
        result = data(await gql(client, CREATE_USER, {"input": taken}, token=team.admin.token))

    # then
    assert result[mutation]["userErrors"], result
    assert await entries(client, team.admin.token) == before
    assert await AuditEntry.filter(account_id=team.account.id).count() == len(before)


# -- who reads it ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.AGENT, Role.ANALYST])
async def test_agents_and_analysts_are_forbidden_and_see_nothing(client, role):
    # given
    team = await make_team(client, roles={"member": role})
    await mutate(client, ROTATE, {}, team.admin.token)

    # when
    result = await gql(client, AUDIT_LOG, {"first": 10}, token=team["member"].token)

    # then
    assert error_codes(result) == ["FORBIDDEN"]
    assert result["data"] is None


async def test_without_a_login_it_is_unauthenticated(client):
    # when
    result = await gql(client, AUDIT_LOG, {"first": 10})

    # then
    assert error_codes(result) == ["UNAUTHENTICATED"]
    assert result["data"] is None


async def test_another_accounts_entries_never_show(client):
    # given: both accounts change the same kinds of things
    ours, theirs = await make_team(client), await make_team(client)
    for team in (ours, theirs):
        await update_user(client, team, team["bob"].id, role="ANALYST")
        await mutate(client, SET_PLAN, {"plan": "ENTERPRISE"}, team.admin.token)
        await mutate(client, ROTATE, {}, team.admin.token)

    # when
    our_log, their_log = await entries(client, ours.admin.token), await entries(client, theirs.admin.token)

    # then
    assert {entry["id"] for entry in our_log}.isdisjoint(entry["id"] for entry in their_log)
    our_members = {ours.admin.id} | {member.id for member in ours.members.values()}
    assert {member for entry in our_log for member in who(entry) if member} <= our_members
    assert len(our_log) == len(their_log) == 9  # 3 members created, their first logins (make_team), 3 changes
    assert (await audit_log(client, ours.admin.token))["totalCount"] == 9


# -- paging --------------------------------------------------------------------------------


async def test_pages_walk_the_log_newest_first_without_skip_or_repeat(client):
    # given: 3 members created and logged in (a first login from an address is audited), then 7 changes
    team = await make_team(client)
    for plan in ("ENTERPRISE", "STARTER", "TEAM"):
        await mutate(client, SET_PLAN, {"plan": plan}, team.admin.token)
    for _ in range(4):
        await mutate(client, ROTATE, {}, team.admin.token)
    everything = await entries(client, team.admin.token)

    # when: pages of 3, with a change written between two of them
    walked: list[dict] = []
    after = None
    pages = 0
    while True:
        page = await audit_log(client, team.admin.token, first=3, after=after)
        walked += [edge["node"] for edge in page["edges"]]
        pages += 1
        if pages == 2:
            await update_user(client, team, team["bob"].id, role="ANALYST")
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        assert after == page["edges"][-1]["cursor"]

    # then
    assert len(everything) == 13
    assert walked == everything
    assert [int(entry["id"]) for entry in walked] == sorted((int(entry["id"]) for entry in walked), reverse=True)
    assert pages == 5
    newest = (await audit_log(client, team.admin.token, first=1))["edges"][0]["node"]
    assert newest["action"] == "ROLE_CHANGED"


@pytest.mark.parametrize("variables, field", [
    ({"first": 0}, "first"),
    ({"first": 101}, "first"),
    ({"first": 10, "after": "not-a-cursor"}, "after"),
])
async def test_bad_page_arguments_are_validation_errors(client, variables, field):
    # given
    team = await make_team(client)

    # when
    result = await gql(client, AUDIT_LOG, variables, token=team.admin.token)

    # then
    assert error_codes(result) == ["VALIDATION"]
    assert result["errors"][0]["extensions"]["field"] == field


# -- secrets --------------------------------------------------------------------------------


async def test_the_webhook_secret_never_appears_in_the_log(client):
    # given: three secrets, the first from the account's creation
    team = await make_team(client)
    secrets = [team.account.webhook_secret]
    for _ in range(2):
        rotated = await mutate(client, ROTATE, {}, team.admin.token)
        secrets.append(rotated["account"]["webhookSecret"])
    settings = data(await gql(client, ACCOUNT_SETTINGS, token=team.admin.token))
    assert settings["viewer"]["account"]["webhookSecret"] == secrets[-1] and len(set(secrets)) == 3

    # when
    response = await gql(client, AUDIT_LOG, {"first": 100}, token=team.admin.token)

    # then
    log = orjson.dumps(response).decode()
    assert [entry["node"]["action"] for entry in response["data"]["auditLog"]["edges"]].count(
        "WEBHOOK_SECRET_ROTATED") == 2
    assert not [secret for secret in secrets if secret in log]
    stored = [orjson.dumps([row.before, row.after]).decode()
              for row in await AuditEntry.filter(account_id=team.account.id)]
    assert not [secret for secret in secrets for row in stored if secret in row]


# -- logins from new addresses --------------------------------------------------------------


async def test_a_login_from_an_address_the_member_never_used_is_written_once(client):
    team = await make_team(client)  # everyone's first login, from the test client's 127.0.0.1
    bob = team["bob"]
    login = operation("Login")

    async def log_in_from(address: str | None) -> None:
        headers = {"x-forwarded-for": address} if address else {}
        response = await client.post("/graphql", json={"query": login, "variables": {
            "email": bob.user.email, "password": PASSWORD}}, headers=headers)
        assert response.json()["data"]["login"]["token"]

    # when: bob logs in again from the same address (no proxy is trusted: X-Forwarded-For is
    # the client's say-so and changes nothing), then a wrong password elsewhere
    await log_in_from(None)
    await log_in_from("198.51.100.1")
    logins = [entry for entry in await entries(client, team.admin.token)
              if entry["action"] == "LOGIN_FROM_NEW_ADDRESS" and entry["target"]["id"] == bob.id]

    # then: one entry, his first login, with its address and no values
    assert [(e["actor"]["id"], e["address"], e["before"], e["after"]) for e in logins] == [
        (bob.id, "127.0.0.1", None, None)]
