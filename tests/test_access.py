"""Who may do what, over HTTP: tenancy (another account's ids are simply not found),
roles (analysts read only), logins, plan gating, and malformed ids."""
from dataclasses import dataclass

import pytest

from models import Notification, Plan, Role
from tests.support.documents import operation
from tests.support.http import data, error_codes, gql
from tests.support.teams import Member, Team, make_team
from tests.support.webhook import inbound

THREAD = operation("ConversationThread")
INBOX = operation("InboxPage")
COUNTS = operation("InboxCounts")
NOTIFICATIONS = operation("Notifications")
TEAM_MEMBERS = operation("TeamMembers")
ACCOUNT = operation("AccountSettings")
CURRENT_USER = operation("CurrentUser")


@dataclass
class Side:
    """One account as its own members see it: a conversation assigned to an agent, who
    therefore has a notification."""

    team: Team
    agent: Member
    conversation_id: str
    notification_id: str


async def account_with_a_conversation(client, phone: str, roles: dict[str, Role], plan: Plan = Plan.TEAM) -> Side:
    team = await make_team(client, plan=plan, roles=roles)
    agent = next(member for member in team.members.values() if member.user.role == Role.AGENT)
    conversation_id = (await inbound(client, team.account, phone, "Where is my order?"))["conversationId"]
    assigned = data(await gql(client, operation("AssignConversation"),
                              {"conversationId": conversation_id, "assigneeId": agent.id}, token=team.admin.token))
    assert assigned["assignConversation"]["userErrors"] == []
    notifications = data(await gql(client, NOTIFICATIONS, token=agent.token))["notifications"]
    return Side(team, agent, conversation_id, notifications["edges"][0]["node"]["id"])


async def snapshot(client, side: Side) -> dict:
    """Everything the mutations below could change, read back by the account's own members.
    Typing is live state, and on Redis shared with whatever else runs there: `typists`
    checks it for the member who acted."""
    admin = side.team.admin.token
    thread = data(await gql(client, THREAD, {"id": side.conversation_id}, token=admin))
    del thread["conversation"]["typingUsers"]
    return {
        "thread": thread,
        "members": data(await gql(client, TEAM_MEMBERS, {"includeInactive": True}, token=admin)),
        "account": data(await gql(client, ACCOUNT, token=admin)),
        "notifications": data(await gql(client, NOTIFICATIONS, token=side.agent.token)),
    }


async def typists(client, side: Side) -> set[str]:
    thread = data(await gql(client, THREAD, {"id": side.conversation_id}, token=side.team.admin.token))
    return {user["id"] for user in thread["conversation"]["typingUsers"]}


def user_error_codes(result: dict, field: str) -> list[str]:
    return [error["code"] for error in data(result)[field]["userErrors"]]


# --- tenancy: every mutation that takes an id, given ids of another account ------------

# (mutation, document, variables from (ours, theirs))
ACROSS_ACCOUNTS = [
    ("assignConversation", "AssignConversation",
     lambda ours, theirs: {"conversationId": theirs.conversation_id, "assigneeId": ours.agent.id}),
    ("assignConversation", "AssignConversation",
     lambda ours, theirs: {"conversationId": ours.conversation_id, "assigneeId": theirs.agent.id}),
    ("assignConversation", "AssignConversation",
     lambda ours, theirs: {"conversationId": theirs.conversation_id, "assigneeId": None}),
    ("sendMessage", "SendMessage",
     lambda ours, theirs: {"conversationId": theirs.conversation_id, "body": "Hello from elsewhere"}),
    ("setConversationStatus", "SetConversationStatus",
     lambda ours, theirs: {"conversationId": theirs.conversation_id, "status": "CLOSED"}),
    ("markNotificationsRead", "MarkNotificationsRead",
     lambda ours, theirs: {"ids": [theirs.notification_id]}),
    ("markNotificationsRead", "MarkNotificationsRead",
     lambda ours, theirs: {"ids": [ours.notification_id, theirs.notification_id]}),
    ("setTyping", "SetTyping",
     lambda ours, theirs: {"conversationId": theirs.conversation_id, "isTyping": True}),
    ("updateUser", "UpdateUser",
     lambda ours, theirs: {"userId": theirs.agent.id, "input": {"active": False}}),
    ("updateUser", "UpdateUser",
     lambda ours, theirs: {"userId": theirs.team.admin.id, "input": {"role": "AGENT", "name": "Taken Over"}}),
]


@pytest.mark.parametrize("mutation, document, variables", ACROSS_ACCOUNTS)
async def test_ids_of_another_account_are_not_found_and_change_nothing(client, mutation, document, variables):
    # given: our agent acts, with every permission needed, on ids of their account
    ours = await account_with_a_conversation(client, "+14155550101", {"bob": Role.AGENT})
    theirs = await account_with_a_conversation(client, "+14155550202", {"zed": Role.AGENT})
    actor = ours.agent if mutation == "markNotificationsRead" else ours.team.admin
    ours_before, theirs_before = await snapshot(client, ours), await snapshot(client, theirs)

    # when
    result = await gql(client, operation(document), variables(ours, theirs), token=actor.token)

    # then
    assert user_error_codes(result, mutation) == ["NOT_FOUND"]
    assert await snapshot(client, theirs) == theirs_before
    assert await snapshot(client, ours) == ours_before
    assert actor.id not in await typists(client, theirs)


@pytest.mark.parametrize("document, variables, changed", [
    ("CreateUser",
     {"input": {"email": "new@ours.test", "name": "New Member", "role": "AGENT", "password": "new-password"}},
     "members"),
    ("SetAccountPlan", {"plan": "ENTERPRISE"}, "account"),
    ("RotateWebhookSecret", {}, "account"),
])
async def test_account_wide_mutations_change_only_the_callers_account(client, document, variables, changed):
    # given
    ours = await account_with_a_conversation(client, "+14155550101", {"bob": Role.AGENT})
    theirs = await account_with_a_conversation(client, "+14155550202", {"zed": Role.AGENT})
    ours_before, theirs_before = await snapshot(client, ours), await snapshot(client, theirs)

    # when
    result = await gql(client, operation(document), variables, token=ours.team.admin.token)

    # then
    [payload] = data(result).values()
    assert payload["userErrors"] == []
    assert (await snapshot(client, ours))[changed] != ours_before[changed]
    assert await snapshot(client, theirs) == theirs_before


# --- roles and logins: every mutation on the caller's own account -----------------------

# (mutation, document, variables from our side)
EVERY_MUTATION = [
    ("assignConversation", "AssignConversation",
     lambda ours: {"conversationId": ours.conversation_id, "assigneeId": ours.team.admin.id}),
    ("sendMessage", "SendMessage", lambda ours: {"conversationId": ours.conversation_id, "body": "On my way"}),
    ("setConversationStatus", "SetConversationStatus",
     lambda ours: {"conversationId": ours.conversation_id, "status": "CLOSED"}),
    ("markNotificationsRead", "MarkNotificationsRead", lambda ours: {"all": True}),
    ("setTyping", "SetTyping", lambda ours: {"conversationId": ours.conversation_id, "isTyping": True}),
    ("createUser", "CreateUser",
     lambda ours: {"input": {"email": "new@ours.test", "name": "New Member", "role": "ADMIN",
                             "password": "new-password"}}),
    ("updateUser", "UpdateUser", lambda ours: {"userId": ours.agent.id, "input": {"role": "ADMIN"}}),
    ("setAccountPlan", "SetAccountPlan", lambda ours: {"plan": "STARTER"}),
    ("rotateWebhookSecret", "RotateWebhookSecret", lambda ours: {}),
]


@pytest.mark.parametrize("mutation, document, variables", EVERY_MUTATION)
async def test_analysts_are_forbidden_every_change(client, mutation, document, variables):
    # given
    ours = await account_with_a_conversation(client, "+14155550101", {"bob": Role.AGENT, "ann": Role.ANALYST})
    before = await snapshot(client, ours)

    # when
    result = await gql(client, operation(document), variables(ours), token=ours.team["ann"].token)

    # then
    assert user_error_codes(result, mutation) == ["FORBIDDEN"]
    assert await snapshot(client, ours) == before
    assert ours.team["ann"].id not in await typists(client, ours)


@pytest.mark.parametrize("mutation, document, variables",
                         EVERY_MUTATION + [("logout", "Logout", lambda ours: {})])
async def test_every_mutation_without_a_login_is_unauthenticated(client, mutation, document, variables):
    # given
    ours = await account_with_a_conversation(client, "+14155550101", {"bob": Role.AGENT})
    before = await snapshot(client, ours)

    # when
    result = await gql(client, operation(document), variables(ours))

    # then
    assert user_error_codes(result, mutation) == ["UNAUTHENTICATED"]
    assert await snapshot(client, ours) == before


@pytest.mark.parametrize("document, variables", [
    ("InboxPage", {}),
    ("InboxCounts", {"status": "OPEN"}),
    ("Notifications", {}),
    ("TeamMembers", {}),
    ("ConversationThread", {"id": "1"}),
])
async def test_queries_without_a_login_are_an_unauthenticated_error(client, document, variables):
    # given
    await account_with_a_conversation(client, "+14155550101", {"bob": Role.AGENT})

    # when
    result = await gql(client, operation(document), variables)

    # then
    assert not any((result["data"] or {}).values())
    assert error_codes(result) == ["UNAUTHENTICATED"]


# --- tenancy: queries ------------------------------------------------------------------

async def test_a_conversation_of_another_account_is_null(client):
    # given
    ours = await account_with_a_conversation(client, "+14155550101", {"bob": Role.AGENT, "ann": Role.ANALYST})
    theirs = await account_with_a_conversation(client, "+14155550202", {"zed": Role.AGENT})

    # when
    seen = [data(await gql(client, THREAD, {"id": theirs.conversation_id}, token=member.token))["conversation"]
            for member in (ours.team.admin, ours.agent, ours.team["ann"])]

    # then
    assert seen == [None, None, None]
    own = data(await gql(client, THREAD, {"id": theirs.conversation_id}, token=theirs.agent.token))["conversation"]
    assert own["id"] == theirs.conversation_id


async def test_inbox_and_counts_never_include_another_accounts_conversations(client):
    # given: both accounts have open and closed, assigned and unassigned conversations
    ours = await account_with_a_conversation(client, "+14155550101", {"bob": Role.AGENT})
    theirs = await account_with_a_conversation(client, "+14155550202", {"zed": Role.AGENT})
    our_other = (await inbound(client, ours.team.account, "+14155550103"))["conversationId"]
    await inbound(client, theirs.team.account, "+14155550204")
    await inbound(client, theirs.team.account, "+14155550205")
    closed = data(await gql(client, operation("SetConversationStatus"),
                            {"conversationId": theirs.conversation_id, "status": "CLOSED"},
                            token=theirs.team.admin.token))
    assert closed["setConversationStatus"]["userErrors"] == []
    our_members = {ours.team.admin.id, ours.agent.id}

    # when
    views = {}
    for name, variables in {
        "open": {"filter": {"status": "OPEN"}},
        "closed": {"filter": {"status": "CLOSED"}},
        "unassigned": {"filter": {"scope": "UNASSIGNED"}},
        "theirPhone": {"filter": {"search": "55502"}},
        "mine": {"filter": {"scope": "MINE"}},
    }.items():
        page = data(await gql(client, INBOX, {**variables, "first": 100}, token=ours.agent.token))["inbox"]
        views[name] = {edge["node"]["id"] for edge in page["edges"]}
    counts = {status: data(await gql(client, COUNTS, {"status": status}, token=ours.agent.token))["inboxCounts"]
              for status in ("OPEN", "CLOSED")}

    # then
    assert views == {
        "open": {ours.conversation_id, our_other},
        "closed": set(),
        "unassigned": {our_other},
        "theirPhone": set(),
        "mine": {ours.conversation_id},
    }
    assert (counts["OPEN"]["all"], counts["OPEN"]["unassigned"], counts["OPEN"]["mine"]) == (2, 1, 1)
    assert counts["CLOSED"]["all"] == 0
    for status_counts in counts.values():
        assert {entry["user"]["id"] for entry in status_counts["byAssignee"]} == our_members


async def test_inbox_of_another_accounts_member_is_not_found(client):
    # given
    ours = await account_with_a_conversation(client, "+14155550101", {"bob": Role.AGENT})
    theirs = await account_with_a_conversation(client, "+14155550202", {"zed": Role.AGENT})

    # when
    result = await gql(client, INBOX, {"filter": {"scope": "USER", "assigneeId": theirs.agent.id}},
                       token=ours.team.admin.token)

    # then
    assert result["data"] is None
    assert error_codes(result) == ["NOT_FOUND"]
    assert result["errors"][0]["extensions"]["field"] == "assigneeId"


async def test_notifications_are_the_viewers_own(client):
    # given
    ours = await account_with_a_conversation(client, "+14155550101", {"bob": Role.AGENT})
    theirs = await account_with_a_conversation(client, "+14155550202", {"zed": Role.AGENT})

    # when
    mine = data(await gql(client, NOTIFICATIONS, token=ours.agent.token))["notifications"]
    admins = data(await gql(client, NOTIFICATIONS, token=ours.team.admin.token))["notifications"]

    # then
    assert [edge["node"]["id"] for edge in mine["edges"]] == [ours.notification_id]
    assert theirs.notification_id != ours.notification_id
    assert admins["totalCount"] == 0 and admins["edges"] == []


# --- plan gating -------------------------------------------------------------------------

@pytest.mark.parametrize("plan, capabilities", [
    (Plan.STARTER, []),
    (Plan.TEAM, ["TEAM_INBOX"]),
    (Plan.ENTERPRISE, ["TEAM_INBOX"]),
])
async def test_capabilities_follow_the_plan(client, plan, capabilities):
    # given
    team = await make_team(client, plan=plan, roles={"ann": Role.ANALYST})

    # when
    seen = [data(await gql(client, CURRENT_USER, token=member.token))["viewer"]["account"]
            for member in (team.admin, team["ann"])]

    # then
    assert [(account["plan"], account["capabilities"]) for account in seen] == [(plan.value, capabilities)] * 2


async def starter_account(client) -> Side:
    """A STARTER account with a conversation assigned to bob (done while it was TEAM,
    so bob also has a notification), then moved to the entry plan."""
    side = await account_with_a_conversation(client, "+14155550101", {"bob": Role.AGENT, "carol": Role.AGENT})
    moved = data(await gql(client, operation("SetAccountPlan"), {"plan": "STARTER"}, token=side.team.admin.token))
    assert moved["setAccountPlan"]["account"]["capabilities"] == []
    return side


@pytest.mark.parametrize("document, variables", [
    ("InboxPage", lambda side: {"filter": {"scope": "MINE"}}),
    ("InboxPage", lambda side: {"filter": {"scope": "UNASSIGNED"}}),
    ("InboxPage", lambda side: {"filter": {"scope": "USER", "assigneeId": side.agent.id}}),
    ("InboxCounts", lambda side: {"status": "OPEN"}),
    ("Notifications", lambda side: {}),
])
async def test_entry_plan_queries_needing_team_inbox_are_feature_not_in_plan(client, document, variables):
    # given
    side = await starter_account(client)

    # when
    result = await gql(client, operation(document), variables(side), token=side.agent.token)

    # then
    assert result["data"] is None
    assert error_codes(result) == ["FEATURE_NOT_IN_PLAN"]


@pytest.mark.parametrize("mutation, document, variables", [
    ("assignConversation", "AssignConversation",
     lambda side: {"conversationId": side.conversation_id, "assigneeId": side.team["carol"].id}),
    ("assignConversation", "AssignConversation",
     lambda side: {"conversationId": side.conversation_id, "assigneeId": None}),
    ("setTyping", "SetTyping", lambda side: {"conversationId": side.conversation_id, "isTyping": True}),
    ("markNotificationsRead", "MarkNotificationsRead", lambda side: {"all": True}),
])
async def test_entry_plan_mutations_needing_team_inbox_are_feature_not_in_plan(client, mutation, document, variables):
    # given
    side = await starter_account(client)
    before = await starter_state(client, side)

    # when
    result = await gql(client, operation(document), variables(side), token=side.agent.token)

    # then
    assert user_error_codes(result, mutation) == ["FEATURE_NOT_IN_PLAN"]
    assert await starter_state(client, side) == before
    assert side.agent.id not in await typists(client, side)


async def starter_state(client, side: Side) -> tuple[dict, int]:
    """The thread as the admin reads it, and the agent's unread notifications (which the
    entry plan does not show them)."""
    thread = data(await gql(client, THREAD, {"id": side.conversation_id}, token=side.team.admin.token))
    del thread["conversation"]["typingUsers"]
    return thread, await Notification.filter(user_id=int(side.agent.id), read_at=None).count()


async def test_entry_plan_still_lists_replies_and_closes(client):
    # given
    side = await starter_account(client)
    conversation_id, bob = side.conversation_id, side.agent.token

    # when
    inbox = data(await gql(client, INBOX, {"filter": {"scope": "ALL"}}, token=bob))["inbox"]
    sent = data(await gql(client, operation("SendMessage"), {"conversationId": conversation_id, "body": "Shipped"},
                          token=bob))["sendMessage"]
    closed = data(await gql(client, operation("SetConversationStatus"),
                            {"conversationId": conversation_id, "status": "CLOSED"},
                            token=bob))["setConversationStatus"]

    # then
    assert [edge["node"]["id"] for edge in inbox["edges"]] == [conversation_id]
    assert sent["userErrors"] == [] and sent["message"]["body"] == "Shipped"
    assert closed["userErrors"] == [] and closed["conversation"]["status"] == "CLOSED"


async def test_upgrading_the_plan_unlocks_the_team_inbox_and_downgrading_locks_it(client):
    # given
    side = await starter_account(client)
    team = side.team
    assign = {"conversationId": side.conversation_id, "assigneeId": team["carol"].id}

    # when
    upgraded = data(await gql(client, operation("SetAccountPlan"), {"plan": "TEAM"}, token=team.admin.token))

    # then
    assert upgraded["setAccountPlan"]["userErrors"] == []
    assert upgraded["setAccountPlan"]["account"]["capabilities"] == ["TEAM_INBOX"]
    viewer = data(await gql(client, CURRENT_USER, token=team["bob"].token))["viewer"]
    assert viewer["account"]["capabilities"] == ["TEAM_INBOX"]
    assigned = await gql(client, operation("AssignConversation"), assign, token=team["bob"].token)
    assert user_error_codes(assigned, "assignConversation") == []
    counts = data(await gql(client, COUNTS, {"status": "OPEN"}, token=team["bob"].token))["inboxCounts"]
    assert counts["all"] == 1

    # and when moved back to the entry plan, the same calls are refused again
    data(await gql(client, operation("SetAccountPlan"), {"plan": "STARTER"}, token=team.admin.token))
    unassign = await gql(client, operation("AssignConversation"), {**assign, "assigneeId": None},
                         token=team["bob"].token)
    assert user_error_codes(unassign, "assignConversation") == ["FEATURE_NOT_IN_PLAN"]


# --- malformed ids -----------------------------------------------------------------------

FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")

# Each form, given a real id of the viewer's own account, makes a malformed one.
MALFORMED = {
    "word": lambda real: "abc",
    "negative": lambda real: "-1",
    "zero": lambda real: "0",
    "too large": lambda real: "99999999999999",
    "empty": lambda real: "",
    "decimal": lambda real: f"{real}.0",
    "exponent": lambda real: f"{real}e0",
    "leading space": lambda real: f" {real}",
    "trailing space": lambda real: f"{real} ",
    "plus sign": lambda real: f"+{real}",
    "leading zero": lambda real: f"0{real}",
    "minus": lambda real: f"-{real}",
    "underscore": lambda real: f"{real}_0",
    "suffix": lambda real: f"{real}abc",
    "fullwidth digits": lambda real: real.translate(FULLWIDTH),
}


@pytest.mark.parametrize("bad", MALFORMED.values(), ids=MALFORMED.keys())
async def test_malformed_ids_are_not_found_never_an_internal_error(client, bad):
    # given
    side = await account_with_a_conversation(client, "+14155550101", {"bob": Role.AGENT})
    admin, bob = side.team.admin.token, side.agent.token
    before = await snapshot(client, side)

    # when
    thread = await gql(client, THREAD, {"id": bad(side.conversation_id)}, token=admin)
    results = {
        "sendMessage": await gql(client, operation("SendMessage"),
                                 {"conversationId": bad(side.conversation_id), "body": "x"}, token=admin),
        "assignConversation": await gql(client, operation("AssignConversation"),
                                        {"conversationId": side.conversation_id, "assigneeId": bad(side.team.admin.id)},
                                        token=admin),
        "setConversationStatus": await gql(client, operation("SetConversationStatus"),
                                           {"conversationId": bad(side.conversation_id), "status": "CLOSED"},
                                           token=admin),
        "setTyping": await gql(client, operation("SetTyping"),
                               {"conversationId": bad(side.conversation_id), "isTyping": True}, token=admin),
        "updateUser": await gql(client, operation("UpdateUser"),
                                {"userId": bad(side.agent.id), "input": {"active": False}}, token=admin),
        "markNotificationsRead": await gql(client, operation("MarkNotificationsRead"),
                                           {"ids": [bad(side.notification_id)]}, token=bob),
    }
    inbox = await gql(client, INBOX, {"filter": {"scope": "USER", "assigneeId": bad(side.agent.id)}}, token=admin)

    # then
    assert data(thread)["conversation"] is None
    assert {mutation: user_error_codes(result, mutation) for mutation, result in results.items()} == {
        mutation: ["NOT_FOUND"] for mutation in results
    }
    assert error_codes(inbox) == ["NOT_FOUND"]
    assert await snapshot(client, side) == before
