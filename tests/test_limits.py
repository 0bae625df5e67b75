"""Limits on what clients may ask, over HTTP: query depth, aliases and tokens are refused
before anything runs; page sizes, body sizes, bad JSON and crafted cursors get clean
answers; and an unexpected failure never leaks its details."""
import base64

import orjson
import pytest

from models import Message, Role
from resolvers import members, messages
from tests.support.documents import operation
from tests.support.http import data, error_codes, gql, post_graphql
from tests.support.teams import make_team
from tests.support.webhook import inbound, post_inbound

SEND = operation("SendMessage")
THREAD = operation("ConversationThread")
INBOX = operation("InboxPage")
NOTIFICATIONS = operation("Notifications")


async def team_with_conversation(client):
    team = await make_team(client, roles={"bob": Role.AGENT})
    conversation_id = (await inbound(client, team.account, "+14155550123", "Hello"))["conversationId"]
    return team, conversation_id


async def messages_in(conversation_id) -> int:
    return await Message.filter(conversation_id=int(conversation_id)).count()


def nested_send(depth: int) -> str:
    """sendMessage with a selection whose leaf sits `depth` fields below the root field."""
    fields = ["message"]
    while len(fields) < depth - 1:
        fields.append("conversation" if fields[-1] in ("message", "lastMessage") else "lastMessage")
    selection = "id"
    for field in reversed(fields):
        selection = f"{field} {{ {selection} }}"
    return f'mutation($c: ID!) {{ sendMessage(conversationId: $c, body: "deep") {{ {selection} }} }}'


async def test_a_query_at_the_depth_limit_runs(client, settings):
    # given
    team, conversation_id = await team_with_conversation(client)

    # when
    result = await gql(client, nested_send(settings.max_query_depth), {"c": conversation_id}, token=team.admin.token)

    # then
    assert data(result)["sendMessage"]["message"]
    assert await messages_in(conversation_id) == 2


async def test_a_query_over_the_depth_limit_is_refused_and_not_run(client, settings):
    # given
    team, conversation_id = await team_with_conversation(client)

    # when
    result = await gql(client, nested_send(settings.max_query_depth + 1), {"c": conversation_id},
                       token=team.admin.token)

    # then
    assert "data" not in result  # a request error: nothing ran
    assert "depth" in result["errors"][0]["message"]
    assert error_codes(result) == ["GRAPHQL_VALIDATION_FAILED"]
    assert await messages_in(conversation_id) == 1


def aliased_sends(count: int) -> str:
    return "mutation($c: ID!) { " + " ".join(
        f'send{i}: sendMessage(conversationId: $c, body: "copy {i}") {{ message {{ id }} }}' for i in range(count)
    ) + " }"


async def test_as_many_aliases_as_allowed_run(client, settings):
    # given
    team, conversation_id = await team_with_conversation(client)

    # when
    result = await gql(client, aliased_sends(settings.max_aliases), {"c": conversation_id}, token=team.admin.token)

    # then
    assert len(data(result)) == settings.max_aliases
    assert await messages_in(conversation_id) == 1 + settings.max_aliases


async def test_too_many_aliases_are_refused_and_nothing_runs(client, settings):
    # given
    team, conversation_id = await team_with_conversation(client)

    # when
    result = await gql(client, aliased_sends(settings.max_aliases + 1), {"c": conversation_id}, token=team.admin.token)

    # then
    assert "data" not in result
    assert "aliases" in result["errors"][0]["message"]
    assert error_codes(result) == ["GRAPHQL_VALIDATION_FAILED"]
    assert await messages_in(conversation_id) == 1


async def test_too_many_tokens_are_refused_and_nothing_runs(client, settings):
    # given
    team, conversation_id = await team_with_conversation(client)
    padding = " ".join(["id"] * settings.max_tokens)
    query = f'mutation($c: ID!) {{ sendMessage(conversationId: $c, body: "long") {{ message {{ {padding} }} }} }}'

    # when
    result = await gql(client, query, {"c": conversation_id}, token=team.admin.token)

    # then
    assert "data" not in result
    assert "tokens" in result["errors"][0]["message"]
    assert error_codes(result) == ["GRAPHQL_PARSE_FAILED"]
    assert await messages_in(conversation_id) == 1


PAGED = {
    "inbox": (INBOX, lambda cid: {}, ["inbox"]),
    "notifications": (NOTIFICATIONS, lambda cid: {}, ["notifications"]),
    "timeline": (THREAD, lambda cid: {"id": cid}, ["conversation", "timeline"]),
}


@pytest.mark.parametrize("connection", PAGED)
@pytest.mark.parametrize("first", ["max + 1", 0, -1])
async def test_page_size_out_of_range_is_a_validation_error(client, settings, connection, first):
    # given
    team, conversation_id = await team_with_conversation(client)
    document, variables, path = PAGED[connection]
    size = settings.max_page_size + 1 if first == "max + 1" else first

    # when
    result = await gql(client, document, {**variables(conversation_id), "first": size}, token=team.admin.token)

    # then
    assert error_codes(result) == ["VALIDATION"]
    assert result["errors"][0]["extensions"]["field"] == "first"
    assert result["errors"][0]["path"] == path


@pytest.mark.parametrize("connection", PAGED)
@pytest.mark.parametrize("first", ["max", 1])
async def test_page_size_within_range_is_served(client, settings, connection, first):
    # given
    team, conversation_id = await team_with_conversation(client)
    document, variables, path = PAGED[connection]
    size = settings.max_page_size if first == "max" else first

    # when
    result = await gql(client, document, {**variables(conversation_id), "first": size}, token=team.admin.token)

    # then
    page = data(result)
    for key in path:
        page = page[key]
    assert len(page["edges"]) <= size


@pytest.mark.parametrize("document, variables, complaint", [
    (INBOX, {"first": 2**31}, "Int cannot represent"),
    (INBOX, {"first": "ten"}, "Int cannot represent"),
    (INBOX, {"filter": {"scope": "EVERYONE"}}, "EVERYONE"),
    (operation("CreateUser"), {"input": {"email": "x@example.test"}}, "required field"),
])
async def test_variables_the_document_rejects_are_reported_not_masked(client, document, variables, complaint):
    # given
    team, _ = await team_with_conversation(client)

    # when
    result = await gql(client, document, variables, token=team.admin.token)

    # then: the client's mistake, said plainly (not "Internal server error")
    assert result.get("data") is None
    assert complaint in result["errors"][0]["message"]


def cursor(*parts) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(parts))).decode()


CRAFTED_CURSORS = {
    "id beyond the column": ("2025-03-01T09:00:00+00:00", 2**40),
    "negative id": ("2025-03-01T09:00:00+00:00", -(2**40)),
    "time without zone": ("2025-03-01T09:00:00", 1),
    "time past year 9999 in UTC": ("9999-12-31T23:59:59-14:00", 1),
    "time before year 1 in UTC": ("0001-01-01T00:00:00+14:00", 1),
}


@pytest.mark.parametrize("parts", CRAFTED_CURSORS.values(), ids=CRAFTED_CURSORS.keys())
async def test_crafted_cursors_are_a_validation_error_not_an_internal_one(client, parts):
    # given
    team, conversation_id = await team_with_conversation(client)
    token = team.admin.token

    # when
    inbox = await gql(client, INBOX, {"after": cursor(*parts)}, token=token)
    timeline = await gql(client, THREAD, {"id": conversation_id, "after": cursor(*parts, 0)}, token=token)

    # then
    assert error_codes(inbox) == ["VALIDATION"]
    assert error_codes(timeline) == ["VALIDATION"]


@pytest.mark.parametrize("before_id", [2**40, -(2**40)])
async def test_crafted_notification_cursors_are_a_validation_error(client, before_id):
    # given
    team, _ = await team_with_conversation(client)

    # when
    result = await gql(client, NOTIFICATIONS, {"after": cursor(before_id)}, token=team.admin.token)

    # then
    assert error_codes(result) == ["VALIDATION"]


async def test_a_body_over_the_limit_is_413_for_graphql(client, settings):
    # given
    team, conversation_id = await team_with_conversation(client)
    body = "x" * settings.max_body_bytes

    # when
    response = await post_graphql(client, SEND, {"conversationId": conversation_id, "body": body}, team.admin.token)

    # then
    assert response.status_code == 413
    assert error_codes(response.json()) == ["PAYLOAD_TOO_LARGE"]
    assert await messages_in(conversation_id) == 1
    assert data(await gql(client, operation("CurrentUser"), token=team.admin.token))["viewer"]


async def test_a_body_over_the_limit_without_a_length_is_413(client, settings):
    # given
    team, conversation_id = await team_with_conversation(client)
    payload = orjson.dumps({"query": SEND, "variables": {"conversationId": conversation_id,
                                                         "body": "x" * settings.max_body_bytes}})

    async def chunks():
        for start in range(0, len(payload), 16 * 1024):
            yield payload[start:start + 16 * 1024]

    # when
    response = await client.post("/graphql", content=chunks(), headers={
        "content-type": "application/json", "authorization": f"Bearer {team.admin.token}"})

    # then
    assert response.status_code == 413
    assert "content-length" not in response.request.headers
    assert await messages_in(conversation_id) == 1


async def test_a_body_just_under_the_limit_is_served(client, settings):
    # given
    team, conversation_id = await team_with_conversation(client)
    padding = settings.max_body_bytes - 1024
    query = "# " + "p" * padding + "\n" + operation("CurrentUser")

    # when
    response = await post_graphql(client, query, {}, team.admin.token)

    # then
    assert response.status_code == 200
    assert response.json()["data"]["viewer"]["user"]["id"] == team.admin.id


async def test_a_webhook_body_over_the_limit_is_413_and_stores_nothing(client, settings):
    # given
    team, conversation_id = await team_with_conversation(client)
    payload = {"id": "big-1", "from": "+14155550123", "to": "+14155550100", "body": "x" * settings.max_body_bytes}

    # when
    response = await post_inbound(client, team.account, payload)

    # then
    assert response.status_code == 413
    assert await messages_in(conversation_id) == 1
    assert (await inbound(client, team.account, "+14155550123", "Still there?"))["conversationId"] == conversation_id


@pytest.mark.parametrize("body", [
    b"{not json", b"", b"\xff\xfe", b'"query"', b"null", b"42", b"[1, 2, 3]",
    b'{"variables": {}}', b'{"query": 5}', b'{"query": "{ viewer { user { id } } }", "variables": "x"}',
])
async def test_a_malformed_graphql_request_is_a_client_error_and_the_server_keeps_serving(client, body):
    # given
    team, _ = await team_with_conversation(client)

    # when
    response = await client.post("/graphql", content=body, headers={
        "content-type": "application/json", "authorization": f"Bearer {team.admin.token}"})

    # then
    assert 400 <= response.status_code < 500
    assert data(await gql(client, operation("CurrentUser"), token=team.admin.token))["viewer"]


def _boom(*args, **kwargs):
    raise RuntimeError("secret detail: /srv/teaminbox/db password=hunter2")


def _assert_masked(response):
    assert response.status_code == 200
    body = response.json()
    assert [error["message"] for error in body["errors"]] == ["Internal server error"]
    text = response.text
    for leak in ("secret detail", "hunter2", "RuntimeError", "Traceback", "File \""):
        assert leak not in text


async def test_an_unexpected_failure_in_a_query_is_masked(client, monkeypatch):
    # given
    team, _ = await team_with_conversation(client)
    monkeypatch.setattr(members, "team_members", _boom)

    # when
    response = await post_graphql(client, operation("TeamMembers"), {}, team.admin.token)

    # then
    _assert_masked(response)
    assert response.json()["errors"][0]["path"] == ["teamMembers"]


async def test_an_unexpected_failure_in_a_mutation_is_masked_and_leaves_nothing_half_done(client, monkeypatch):
    # given: the message row is written, then the failure strikes inside the same transaction
    team, conversation_id = await team_with_conversation(client)
    monkeypatch.setattr(messages, "record_message", _boom)

    # when
    response = await post_graphql(client, SEND, {"conversationId": conversation_id, "body": "half"}, team.admin.token)

    # then
    _assert_masked(response)
    assert await messages_in(conversation_id) == 1
    monkeypatch.undo()
    sent = data(await gql(client, SEND, {"conversationId": conversation_id, "body": "whole"}, token=team.admin.token))
    assert sent["sendMessage"]["userErrors"] == []
