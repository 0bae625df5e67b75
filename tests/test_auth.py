"""Logins over HTTP: tokens that identify the member, argon2 hashes, logout, bad
headers, and deactivation taking effect at once."""
from typing import Any

import pytest

from models import Role, Session, User
from tests.support.documents import operation
from tests.support.http import data, error_codes, gql, post_graphql
from tests.support.orm import column
from tests.support.teams import PASSWORD, login, make_team
from tests.support.webhook import inbound

LOGIN = operation("Login")
LOGOUT = operation("Logout")
VIEWER = operation("CurrentUser")
SEND = operation("SendMessage")
UPDATE_USER = operation("UpdateUser")
AGENT_ONLY = {"bob": Role.AGENT}


async def viewer_of(client, token) -> Any:
    """The `viewer` object (JSON), None when the token is not a login."""
    return data(await gql(client, VIEWER, token=token))["viewer"]


async def send(client, token, conversation_id, body="Hi there") -> dict:
    return data(await gql(client, SEND, {"conversationId": conversation_id, "body": body}, token=token))["sendMessage"]


def codes(payload: dict) -> list[str]:
    return [error["code"] for error in payload["userErrors"]]


async def test_login_returns_a_token_that_identifies_the_member(client):
    # given
    team = await make_team(client, roles=AGENT_ONLY)
    bob = team["bob"]

    # when
    result = data(await gql(client, LOGIN, {"email": bob.user.email, "password": PASSWORD}))["login"]

    # then
    assert result["userErrors"] == []
    assert result["user"]["id"] == bob.id
    viewer = await viewer_of(client, result["token"])
    assert viewer["user"]["id"] == bob.id
    assert viewer["user"]["email"] == bob.user.email
    assert viewer["account"]["id"] == str(team.account.id)


async def test_each_login_gets_its_own_token(client):
    # given
    team = await make_team(client, roles=AGENT_ONLY)

    # when
    first = await login(client, team["bob"].user.email)
    second = await login(client, team["bob"].user.email)

    # then
    assert first != second
    assert (await viewer_of(client, first))["user"]["id"] == team["bob"].id
    assert (await viewer_of(client, second))["user"]["id"] == team["bob"].id


async def test_email_is_case_insensitive_at_login(client):
    # given
    team = await make_team(client, roles=AGENT_ONLY)
    bob = team["bob"]

    # when
    token = await login(client, "  " + bob.user.email.upper() + " ")

    # then
    assert (await viewer_of(client, token))["user"]["id"] == bob.id


@pytest.mark.parametrize("who, password", [
    ("bob", "wrong-password-123"),
    ("bob", PASSWORD.upper()),
    ("bob", ""),
    ("nobody", PASSWORD),
])
async def test_wrong_password_or_unknown_email_is_invalid_credentials_without_a_token(client, who, password):
    # given
    team = await make_team(client, roles=AGENT_ONLY)
    email = team["bob"].user.email if who == "bob" else "nobody@nowhere.test"
    sessions_before = await Session.all().count()

    # when
    result = data(await gql(client, LOGIN, {"email": email, "password": password}))["login"]

    # then
    assert codes(result) == ["INVALID_CREDENTIALS"]
    assert result["token"] is None
    assert result["user"] is None
    assert await Session.all().count() == sessions_before


async def test_wrong_password_and_unknown_email_give_the_same_answer(client):
    # given
    team = await make_team(client, roles=AGENT_ONLY)

    # when
    wrong_password = data(await gql(client, LOGIN, {"email": team["bob"].user.email, "password": "nope-nope-nope"}))
    unknown_email = data(await gql(client, LOGIN, {"email": "ghost@nowhere.test", "password": "nope-nope-nope"}))

    # then: nothing tells which emails have a login
    assert wrong_password == unknown_email


async def test_passwords_are_stored_as_argon2_hashes(client):
    # given
    team = await make_team(client, roles=AGENT_ONLY)
    created = data(await gql(client, operation("CreateUser"), {"input": {
        "email": "dora@example.test", "name": "Dora Explorer", "role": "AGENT", "password": "dora-secret-pass",
    }}, token=team.admin.token))["createUser"]
    assert created["userErrors"] == []

    # when
    bob_row = await User.get(id=team["bob"].user.id)
    dora_row = await User.get(email="dora@example.test")

    # then
    assert bob_row.password_hash.startswith("$argon2")
    assert PASSWORD not in bob_row.password_hash
    assert dora_row.password_hash.startswith("$argon2")
    assert "dora-secret-pass" not in dora_row.password_hash
    assert dora_row.password_hash != bob_row.password_hash


async def test_tokens_are_not_stored_in_clear(client):
    # given
    team = await make_team(client, roles=AGENT_ONLY)
    token = team["bob"].token

    # when
    stored = await column(Session.filter(user_id=team["bob"].user.id), "token_hash")

    # then
    assert stored and token not in stored
    assert all(token not in value for value in stored)


async def test_logout_revokes_the_token_it_was_made_with(client):
    # given
    team = await make_team(client, roles=AGENT_ONLY)
    bob = team["bob"]
    other_session = await login(client, bob.user.email)
    conversation_id = (await inbound(client, team.account, "+14155550123"))["conversationId"]

    # when
    result = data(await gql(client, LOGOUT, token=bob.token))["logout"]

    # then
    assert result == {"revoked": True, "userErrors": []}
    assert await viewer_of(client, bob.token) is None
    sent = await send(client, bob.token, conversation_id)
    assert codes(sent) == ["UNAUTHENTICATED"] and sent["message"] is None
    again = data(await gql(client, LOGOUT, token=bob.token))["logout"]
    assert again["revoked"] is False and codes(again) == ["UNAUTHENTICATED"]
    # the member's other login is untouched
    assert (await viewer_of(client, other_session))["user"]["id"] == bob.id


async def test_an_expired_session_is_not_a_login(client):
    # given
    team = await make_team(client, roles=AGENT_ONLY)
    bob = team["bob"]
    await Session.filter(user_id=bob.user.id).update(expires_at=bob.user.created_at)

    # when
    viewer = await viewer_of(client, bob.token)

    # then
    assert viewer is None


@pytest.mark.parametrize("header", [
    None,
    "",
    "Bearer",
    "Bearer ",
    "Bearer not-a-real-token",
    "Basic Ym9iOnNlY3JldA==",
    "garbage",
    "{token}",  # a real token without its scheme
    "Token {token}",
    "Bearer {token}x",
])
async def test_missing_or_bad_authorization_header_is_anonymous(client, header):
    # given
    team = await make_team(client, roles=AGENT_ONLY)
    conversation_id = (await inbound(client, team.account, "+14155550123"))["conversationId"]
    headers = {} if header is None else {"authorization": header.format(token=team["bob"].token)}

    async def post(query, variables=None):
        response = await post_graphql(client, query, variables or {}, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    # when
    viewer = await post(VIEWER)
    inbox = await post(operation("InboxPage"))
    sent = await post(SEND, {"conversationId": conversation_id, "body": "Hi"})

    # then
    assert viewer == {"data": {"viewer": None}}
    assert inbox["data"] is None and error_codes(inbox) == ["UNAUTHENTICATED"]
    assert codes(sent["data"]["sendMessage"]) == ["UNAUTHENTICATED"]
    thread = data(await gql(client, operation("ConversationThread"), {"id": conversation_id}, token=team.admin.token))
    assert [edge["node"]["direction"] for edge in thread["conversation"]["timeline"]["edges"]] == ["INBOUND"]


async def test_the_bearer_scheme_is_case_insensitive(client):
    # given
    team = await make_team(client, roles=AGENT_ONLY)

    # when
    response = await client.post("/graphql", json={"query": VIEWER},
                                 headers={"authorization": f"bearer {team['bob'].token}"})

    # then
    assert response.json()["data"]["viewer"]["user"]["id"] == team["bob"].id


async def deactivate(client, team, member, active=False) -> dict:
    result = data(await gql(client, UPDATE_USER, {"userId": member.id, "input": {"active": active}},
                            token=team.admin.token))["updateUser"]
    assert result["userErrors"] == [], result
    return result


async def test_deactivation_ends_existing_tokens_at_once_and_blocks_login(client):
    # given
    team = await make_team(client, roles=AGENT_ONLY)
    bob = team["bob"]
    second_token = await login(client, bob.user.email)
    conversation_id = (await inbound(client, team.account, "+14155550123"))["conversationId"]

    # when
    await deactivate(client, team, bob)

    # then
    assert await viewer_of(client, bob.token) is None
    assert await viewer_of(client, second_token) is None
    assert codes(await send(client, bob.token, conversation_id)) == ["UNAUTHENTICATED"]
    attempt = data(await gql(client, LOGIN, {"email": bob.user.email, "password": PASSWORD}))["login"]
    assert codes(attempt) == ["INVALID_CREDENTIALS"] and attempt["token"] is None


async def test_a_reactivated_member_must_log_in_again(client):
    # given
    team = await make_team(client, roles=AGENT_ONLY)
    bob = team["bob"]
    await deactivate(client, team, bob)

    # when
    await deactivate(client, team, bob, active=True)

    # then
    assert await viewer_of(client, bob.token) is None
    fresh = await login(client, bob.user.email)
    assert (await viewer_of(client, fresh))["user"]["id"] == bob.id


LOGOUT_EVERYWHERE = "mutation { logout(allSessions: true) { revoked userErrors { code } } }"


async def test_logout_of_all_sessions_revokes_every_token_of_the_member_and_only_theirs(client):
    # given: bob logged in on two devices, carol on one
    team = await make_team(client, roles={"bob": Role.AGENT, "carol": Role.AGENT})
    bob_email = team["bob"].user.email
    phone, laptop = team["bob"].token, await login(client, bob_email)
    carol = team["carol"].token

    # when: he logs out everywhere from his phone
    result = data(await gql(client, LOGOUT_EVERYWHERE, token=phone))["logout"]

    # then: neither of his tokens works any more; carol's does
    assert result == {"revoked": True, "userErrors": []}
    for token in (phone, laptop):
        assert await viewer_of(client, token) is None
    assert (await viewer_of(client, carol))["user"]["id"] == team["carol"].id
    assert await Session.filter(user_id=team["bob"].user.id, revoked_at=None).count() == 0
