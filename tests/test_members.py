"""Managing the team over HTTP: creating members, changing roles, deactivating, the
last-admin rule, the member list, and initials."""
import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models import Role, User
from resolvers.members import initials_of
from tests.support.documents import operation
from tests.support.http import data, gql
from tests.support.teams import login, make_team
from tests.support.webhook import inbound

CREATE_USER = operation("CreateUser")
UPDATE_USER = operation("UpdateUser")
TEAM_MEMBERS = operation("TeamMembers")
ASSIGN = operation("AssignConversation")
THREAD = operation("ConversationThread")
COUNTS = operation("InboxCounts")
AGENT_ONLY = {"bob": Role.AGENT}


def codes(payload: dict) -> list[str]:
    return [error["code"] for error in payload["userErrors"]]


async def create_user(client, token, **fields) -> dict:
    member = {"email": "dora@example.test", "name": "Dora Explorer", "role": "AGENT", "password": "dora-secret-pass"}
    member.update(fields)
    return data(await gql(client, CREATE_USER, {"input": member}, token=token))["createUser"]


async def update_user(client, token, user_id, **changes) -> dict:
    return data(await gql(client, UPDATE_USER, {"userId": user_id, "input": changes}, token=token))["updateUser"]


async def members_of(client, token, include_inactive=False) -> list[dict]:
    return data(await gql(client, TEAM_MEMBERS, {"includeInactive": include_inactive}, token=token))["teamMembers"]


async def test_admin_creates_a_member_who_can_log_in(client):
    # given
    team = await make_team(client, roles=AGENT_ONLY)

    # when
    result = await create_user(client, team.admin.token, email="  Dora@Example.TEST ", name="  Dora   Explorer ",
                               role="ANALYST")

    # then
    assert result["userErrors"] == []
    user = result["user"]
    assert (user["email"], user["name"], user["role"], user["active"]) == (
        "dora@example.test", "Dora Explorer", "ANALYST", True)
    assert user["id"] in [m["id"] for m in await members_of(client, team.admin.token)]
    token = await login(client, "dora@example.test", "dora-secret-pass")
    viewer = data(await gql(client, operation("CurrentUser"), token=token))["viewer"]
    assert viewer["user"]["id"] == user["id"]
    assert viewer["account"]["id"] == str(team.account.id)


@pytest.mark.parametrize("fields, field", [
    ({"email": "not-an-email"}, "email"),
    ({"email": "dora@localhost"}, "email"),
    ({"email": "dora smith@example.test"}, "email"),
    ({"email": ""}, "email"),
    ({"email": "a" * 250 + "@example.test"}, "email"),
    ({"password": "short"}, "password"),
    ({"password": "1234567"}, "password"),
    ({"password": "p" * 257}, "password"),
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "n" * 201}, "name"),
])
async def test_invalid_new_member_is_a_validation_error_and_nobody_is_added(client, fields, field):
    # given
    team = await make_team(client, roles=AGENT_ONLY)
    before = await members_of(client, team.admin.token, include_inactive=True)

    # when
    result = await create_user(client, team.admin.token, **fields)

    # then
    assert codes(result) == ["VALIDATION"]
    assert result["userErrors"][0]["field"] == field
    assert result["user"] is None
    assert await members_of(client, team.admin.token, include_inactive=True) == before
    assert await User.filter(account_id=team.account.id).count() == len(before)


@pytest.mark.parametrize("spelling", [str, str.upper, lambda email: f" {email.title()} "])
async def test_an_email_already_in_use_is_already_exists_and_changes_nothing(client, spelling):
    # given
    team = await make_team(client, roles=AGENT_ONLY)
    bob = team["bob"]
    before = await members_of(client, team.admin.token, include_inactive=True)

    # when
    result = await create_user(client, team.admin.token, email=spelling(bob.user.email), name="Bob Impostor",
                               role="ADMIN", password="impostor-password")

    # then
    assert codes(result) == ["ALREADY_EXISTS"]
    assert result["userErrors"][0]["field"] == "email"
    assert result["user"] is None
    assert await members_of(client, team.admin.token, include_inactive=True) == before
    await login(client, bob.user.email)  # the original password still works
    row = await User.get(id=bob.user.id)
    assert (row.name, row.role) == (bob.user.name, Role.AGENT)


# (mutation, document, variables from (team, the non-admin member))
ADMIN_ONLY = {
    "create a member": ("createUser", "CreateUser", lambda team, member: {"input": {
        "email": "dora@example.test", "name": "Dora Explorer", "role": "AGENT", "password": "dora-secret-pass"}}),
    "promote themselves": ("updateUser", "UpdateUser",
                           lambda team, member: {"userId": member.id, "input": {"role": "ADMIN"}}),
    "deactivate the admin": ("updateUser", "UpdateUser",
                             lambda team, member: {"userId": team.admin.id, "input": {"active": False}}),
    "rename a colleague": ("updateUser", "UpdateUser",
                           lambda team, member: {"userId": team.admin.id, "input": {"name": "Renamed"}}),
    "change the plan": ("setAccountPlan", "SetAccountPlan", lambda team, member: {"plan": "ENTERPRISE"}),
    "rotate the webhook secret": ("rotateWebhookSecret", "RotateWebhookSecret", lambda team, member: {}),
}


@pytest.mark.parametrize("role", [Role.AGENT, Role.ANALYST])
@pytest.mark.parametrize("mutation, document, variables", ADMIN_ONLY.values(), ids=ADMIN_ONLY.keys())
async def test_only_admins_manage_the_team_and_plan(client, role, mutation, document, variables):
    # given
    team = await make_team(client, roles={"member": role})
    member = team["member"]
    before_members = await members_of(client, team.admin.token, include_inactive=True)
    before_account = data(await gql(client, operation("AccountSettings"), token=team.admin.token))

    # when
    result = data(await gql(client, operation(document), variables(team, member), token=member.token))[mutation]

    # then
    assert codes(result) == ["FORBIDDEN"]
    assert await members_of(client, team.admin.token, include_inactive=True) == before_members
    assert data(await gql(client, operation("AccountSettings"), token=team.admin.token)) == before_account


async def test_admin_changes_a_role_and_it_applies_to_the_members_open_session(client):
    # given
    team = await make_team(client, roles=AGENT_ONLY)
    bob = team["bob"]
    conversation_id = (await inbound(client, team.account, "+14155550123"))["conversationId"]

    # when
    result = await update_user(client, team.admin.token, bob.id, role="ANALYST", name="Robert Tester")

    # then
    assert result["userErrors"] == []
    assert (result["user"]["role"], result["user"]["name"]) == ("ANALYST", "Robert Tester")
    listed = {m["id"]: m for m in await members_of(client, team.admin.token)}
    assert (listed[bob.id]["role"], listed[bob.id]["initials"]) == ("ANALYST", "RT")
    sent = data(await gql(client, operation("SendMessage"), {"conversationId": conversation_id, "body": "hi"},
                          token=bob.token))["sendMessage"]
    assert codes(sent) == ["FORBIDDEN"]


async def test_a_member_can_be_promoted_to_admin(client):
    # given
    team = await make_team(client, roles=AGENT_ONLY)
    bob = team["bob"]

    # when
    promoted = await update_user(client, team.admin.token, bob.id, role="ADMIN")

    # then
    assert promoted["userErrors"] == []
    created = await create_user(client, bob.token)
    assert created["userErrors"] == []


@pytest.mark.parametrize("change", [{"role": "AGENT"}, {"role": "ANALYST"}, {"active": False}])
async def test_the_last_active_admin_cannot_demote_or_deactivate_themselves(client, change):
    # given: the only other admin is deactivated, so does not count
    team = await make_team(client, roles={"former": Role.ADMIN})
    assert (await update_user(client, team.admin.token, team["former"].id, active=False))["userErrors"] == []

    # when
    result = await update_user(client, team.admin.token, team.admin.id, **change)

    # then
    assert codes(result) == ["FORBIDDEN"]
    row = await User.get(id=team.admin.user.id)
    assert (row.role, row.active) == (Role.ADMIN, True)
    viewer = data(await gql(client, operation("CurrentUser"), token=team.admin.token))["viewer"]
    assert viewer["user"]["role"] == "ADMIN"


@pytest.mark.parametrize("change", [{"role": "AGENT"}, {"active": False}])
async def test_an_admin_may_step_down_while_another_admin_remains(client, change):
    # given
    team = await make_team(client, roles={"second": Role.ADMIN})

    # when
    result = await update_user(client, team.admin.token, team.admin.id, **change)

    # then
    assert result["userErrors"] == []
    assert await User.filter(account_id=team.account.id, role=Role.ADMIN, active=True).count() == 1


async def test_two_admins_stepping_down_at_once_leave_one_admin(client):
    # given
    team = await make_team(client, roles={"second": Role.ADMIN})
    first, second = team.admin, team["second"]

    # when
    results = await asyncio.gather(
        update_user(client, first.token, first.id, role="AGENT"),
        update_user(client, second.token, second.id, active=False),
    )

    # then
    assert sorted(codes(result) for result in results) == [[], ["FORBIDDEN"]]
    assert await User.filter(account_id=team.account.id, role=Role.ADMIN, active=True).count() == 1


async def test_deactivating_a_member_unassigns_their_conversations_with_history(client):
    # given
    team = await make_team(client)
    bob, carol = team["bob"], team["carol"]
    conversations = [(await inbound(client, team.account, f"+1415555012{i}"))["conversationId"] for i in range(3)]
    for conversation_id, member in zip(conversations, [bob, bob, carol], strict=True):
        assigned = data(await gql(client, ASSIGN, {"conversationId": conversation_id, "assigneeId": member.id},
                                  token=team.admin.token))["assignConversation"]
        assert assigned["userErrors"] == []
    closed = data(await gql(client, operation("SetConversationStatus"),
                            {"conversationId": conversations[1], "status": "CLOSED"}, token=team.admin.token))
    assert closed["setConversationStatus"]["userErrors"] == []

    # when
    result = await update_user(client, team.admin.token, bob.id, active=False)

    # then
    assert result["userErrors"] == [] and result["user"]["active"] is False
    for conversation_id in conversations[:2]:
        thread = data(await gql(client, THREAD, {"id": conversation_id}, token=team.admin.token))["conversation"]
        assert thread["assignee"] is None
        last = thread["assignmentHistory"][-1]
        assert last["actor"]["id"] == team.admin.id
        assert last["assignee"] is None
        assert last["previousAssignee"]["id"] == bob.id
        assert "deactivat" in last["note"].lower()
    untouched = data(await gql(client, THREAD, {"id": conversations[2]}, token=team.admin.token))["conversation"]
    assert untouched["assignee"]["id"] == carol.id and len(untouched["assignmentHistory"]) == 1
    for status in ("OPEN", "CLOSED"):
        counts = data(await gql(client, COUNTS, {"status": status}, token=team.admin.token))["inboxCounts"]
        by_member = {entry["user"]["id"]: entry["count"] for entry in counts["byAssignee"]}
        assert bob.id not in by_member
        assert counts["all"] == counts["unassigned"] + sum(by_member.values())
    open_counts = data(await gql(client, COUNTS, {"status": "OPEN"}, token=team.admin.token))["inboxCounts"]
    assert (open_counts["all"], open_counts["unassigned"]) == (2, 1)
    reassign = data(await gql(client, ASSIGN, {"conversationId": conversations[0], "assigneeId": bob.id},
                              token=team.admin.token))["assignConversation"]
    assert codes(reassign) == ["VALIDATION"]


async def test_deactivating_a_typing_member_clears_their_typing(client):
    # given
    team = await make_team(client, roles=AGENT_ONLY)
    bob = team["bob"]
    # Not the first conversation: on Redis, typing state is shared with whatever else runs there.
    for phone in ("+14155550121", "+14155550122"):
        await inbound(client, team.account, phone)
    conversation_id = (await inbound(client, team.account, "+14155550123"))["conversationId"]
    typing = data(await gql(client, operation("SetTyping"), {"conversationId": conversation_id, "isTyping": True},
                            token=bob.token))["setTyping"]
    assert typing["accepted"] is True
    before = data(await gql(client, THREAD, {"id": conversation_id}, token=team.admin.token))["conversation"]
    assert bob.id in [user["id"] for user in before["typingUsers"]]

    # when
    await update_user(client, team.admin.token, bob.id, active=False)

    # then
    after = data(await gql(client, THREAD, {"id": conversation_id}, token=team.admin.token))["conversation"]
    assert bob.id not in [user["id"] for user in after["typingUsers"]]


async def test_team_members_lists_active_members_unless_asked_for_all(client):
    # given
    team = await make_team(client)
    await update_user(client, team.admin.token, team["carol"].id, active=False)

    # when
    active = await members_of(client, team["bob"].token)
    everyone = await members_of(client, team["bob"].token, include_inactive=True)

    # then
    assert sorted(m["id"] for m in active) == sorted([team.admin.id, team["bob"].id])
    assert sorted(m["id"] for m in everyone) == sorted([team.admin.id, team["bob"].id, team["carol"].id])
    assert {m["id"]: m["active"] for m in everyone}[team["carol"].id] is False
    assert [m["name"] for m in everyone] == sorted(m["name"] for m in everyone)


async def test_a_reactivated_member_is_listed_again(client):
    # given
    team = await make_team(client, roles=AGENT_ONLY)
    await update_user(client, team.admin.token, team["bob"].id, active=False)

    # when
    result = await update_user(client, team.admin.token, team["bob"].id, active=True)

    # then
    assert result["userErrors"] == [] and result["user"]["active"] is True
    assert team["bob"].id in [m["id"] for m in await members_of(client, team.admin.token)]


@pytest.mark.parametrize("name, initials", [
    ("Ada Lovelace", "AL"),
    ("ada lovelace", "AL"),
    ("Bob", "BO"),
    ("X", "X"),
    ("jean-luc picard", "JP"),
    ("Ada Augusta Byron Lovelace", "AL"),
    ("Dr. Ada Lovelace", "DL"),
    ("O'Brien", "OB"),
    ("Émile Zola", "ÉZ"),
    ("王小明", "王小"),
    ("🚀 Ada Lovelace", "AL"),
    ("Ada Lovelace 🚀", "AL"),
    ("Ada (Ops)", "AO"),
    ("🚀", "?"),
    ("--", "?"),
])
async def test_initials_derive_from_the_name(client, name, initials):
    # given
    team = await make_team(client, roles=AGENT_ONLY)

    # when
    created = await create_user(client, team.admin.token, name=name)

    # then
    assert created["userErrors"] == []
    assert created["user"]["initials"] == initials
    listed = {m["id"]: m["initials"] for m in await members_of(client, team.admin.token)}
    assert listed[created["user"]["id"]] == initials


@pytest.mark.parametrize("name, initials", [("", "?"), ("   ", "?"), ("ßeta Test", "ßT"), ("ﬁona Apple", "ﬁA")])
def test_initials_of_names_the_api_never_stores(name, initials):
    assert initials_of(name) == initials


@given(st.text())
def test_initials_are_two_letters_where_possible(name):
    # the contract: '?' when the name has no letter or digit, else one letter per word
    # (first and last) or the first two of a single word, so two whenever there are two
    letters = [ch for ch in name if ch.isalnum()]
    initials = initials_of(name)
    assert initials == initials_of(name)
    if not letters:
        assert initials == "?"
        return
    assert len(initials) == min(2, len(letters))
    assert all(ch.isalnum() for ch in initials)
    assert initials[0] in (letters[0], letters[0].upper())
