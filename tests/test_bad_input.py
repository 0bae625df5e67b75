"""Inputs no client should send, each with a typed answer and nothing stored: a body
that is not UTF-8, JSON nested past what a parser should follow, lone surrogates
(JSON's "\\ud800", which no text can hold) in every text input, and webhook times at the
calendar's edges."""
from __future__ import annotations

import json
import logging

import pytest

from models import Message, Plan, User
from server.webhook import sign
from tests.support.documents import operation
from tests.support.http import data, error_codes, gql
from tests.support.teams import make_team
from tests.support.webhook import inbound, inbound_message, post_webhook

LONE_SURROGATE = "\ud800"


def json_with_escapes(value: object) -> bytes:
    """JSON as a client writes it, lone surrogates escaped (`\\ud800`): valid JSON text
    that decodes to a string no encoding can hold."""
    return json.dumps(value).encode()


async def post_json(client, body: bytes, token: str | None = None):
    headers = {"content-type": "application/json", **({"authorization": f"Bearer {token}"} if token else {})}
    return await client.post("/graphql", content=body, headers=headers)


@pytest.mark.parametrize("body", [
    b'{"query": "{ __typename }", "note": "\xff\xfe"}',  # not UTF-8
    b'{"query": "{ __typename }", "variables": {"v": ' + b"[" * 5000 + b"]" * 5000 + b"}}",  # 5000 levels deep
])
async def test_a_body_a_json_parser_should_not_take_is_a_coded_400(client, body):
    response = await post_json(client, body)

    assert response.status_code == 400
    assert error_codes(response.json()) == ["BAD_REQUEST"]
    assert data(await gql(client, "{ __typename }")) == {"__typename": "Query"}  # and it serves on


async def test_a_lone_surrogate_in_a_login_is_just_wrong_credentials(client):
    team = await make_team(client)
    body = json_with_escapes({"query": operation("Login"), "variables": {
        "email": f"bob{LONE_SURROGATE}@x.test", "password": f"pass{LONE_SURROGATE}word"}})

    response = await post_json(client, body)

    login = data(response.json())["login"]
    assert login["token"] is None
    assert [e["code"] for e in login["userErrors"]] == ["INVALID_CREDENTIALS"]  # as for a NUL: nothing more
    assert team.admin.token  # the account is untouched


async def test_an_email_longer_than_any_members_is_just_wrong_credentials(client):
    # Tortoise refuses to look up a value longer than its column: that must not be a 500.
    login = data(await gql(client, operation("Login"), {"email": "x" * 300 + "@x.test", "password": ""}))["login"]
    assert (login["token"], [e["code"] for e in login["userErrors"]]) == (None, ["INVALID_CREDENTIALS"])


async def test_a_lone_surrogate_in_a_name_email_message_or_search_is_refused(client):
    # given
    team = await make_team(client)
    conversation = (await inbound(client, team.account, "+14155550123", "Hello"))["conversationId"]
    users_before, messages_before = await User.all().count(), await Message.all().count()
    admin, bob = team.admin.token, team["bob"].token
    cases = [
        (operation("CreateUser"), {"input": {"email": f"x{LONE_SURROGATE}@x.test", "name": "X Y", "role": "AGENT",
                                             "password": "a-long-password"}}, admin),
        (operation("CreateUser"), {"input": {"email": "x@x.test", "name": f"X {LONE_SURROGATE}", "role": "AGENT",
                                             "password": "a-long-password"}}, admin),
        (operation("SendMessage"), {"conversationId": conversation, "body": f"On its way {LONE_SURROGATE}"}, bob),
        (operation("AssignConversation"), {"conversationId": conversation, "assigneeId": team["bob"].id,
                                           "note": LONE_SURROGATE}, admin),
    ]

    # when / then: each a userError VALIDATION
    for document, variables, token in cases:
        payload = next(iter(data((await post_json(client, json_with_escapes(
            {"query": document, "variables": variables}), token)).json()).values()))
        assert [e["code"] for e in payload["userErrors"]] == ["VALIDATION"], (variables, payload)
    search = (await post_json(client, json_with_escapes({"query": operation("InboxPage"), "variables": {
        "filter": {"search": LONE_SURROGATE}}}), bob)).json()
    assert error_codes(search) == ["VALIDATION"]
    # and nothing was stored
    assert (await User.all().count(), await Message.all().count()) == (users_before, messages_before)


@pytest.mark.parametrize(("field", "value", "named"), [
    ("receivedAt", "0001-01-01T00:00:00+14:00", "receivedAt"),
    ("receivedAt", "9999-12-31T23:59:59-14:00", "receivedAt"),
    # a lone surrogate makes the body JSON that orjson refuses whole: no field to name
    ("id", f"ext-{LONE_SURROGATE}", None),
    ("body", f"Hello {LONE_SURROGATE}", None),
])
async def test_a_webhook_field_no_message_can_hold_is_422(client, field, value, named):
    team = await make_team(client)
    payload = {**inbound_message("+14155550123"), field: value}
    body = json_with_escapes(payload)
    before = await Message.all().count()

    response = await post_webhook(client, team.account.id, body, sign(team.account.webhook_secret, body))

    assert response.status_code == 422, response.text
    assert response.json()["field"] == named, response.json()
    assert await Message.all().count() == before


async def test_an_expected_error_is_an_answer_and_no_entry_in_the_log(client, caplog):
    # A "not found", a bad document and a plan's refusal are answers: the log (where an
    # operator looks for failures) gets no error and no traceback for them.
    team = await make_team(client, plan=Plan.STARTER)
    caplog.set_level(logging.INFO)
    refused = await gql(client, operation("InboxCounts"), {"status": "OPEN"}, token=team.admin.token)
    bad_cursor = await gql(client, operation("InboxPage"), {"filter": {}, "after": "nope"}, token=team.admin.token)
    broken = (await client.post("/graphql", json={"query": "query { nope }"})).json()
    assert error_codes(refused) == ["FEATURE_NOT_IN_PLAN"] and error_codes(bad_cursor) == ["VALIDATION"]
    assert broken["errors"]
    assert [record for record in caplog.records if record.levelno >= logging.ERROR or record.exc_info] == []
