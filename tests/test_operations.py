"""The documents real clients send (graphql/operations/*.graphql): each validates against
the schema, and each query or mutation runs against the app without errors."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest
from graphql import OperationDefinitionNode, OperationType, parse, validate

from models import DeliveryStatus, Message
from schema.app import build_schema
from tests.support.documents import OPERATIONS_DIR, operation
from tests.support.http import data, gql
from tests.support.teams import PASSWORD, Team, login, make_team
from tests.support.webhook import inbound

DOCUMENTS = sorted(path.stem for path in OPERATIONS_DIR.glob("*.graphql"))


def operations_of(name: str) -> list[OperationDefinitionNode]:
    return [d for d in parse(operation(name)).definitions if isinstance(d, OperationDefinitionNode)]


def test_there_are_client_documents():
    assert "AssignConversation" in DOCUMENTS and "InboxPage" in DOCUMENTS


@pytest.mark.parametrize("name", DOCUMENTS)
def test_document_validates_against_the_schema(name):
    # given
    schema = build_schema()._schema

    # when
    document = parse(operation(name))
    errors = validate(schema, document)

    # then
    assert errors == [], [e.message for e in errors]
    [definition] = operations_of(name)
    assert definition.name is not None and definition.name.value == name, "name the operation after its file"


@dataclass
class Scene:
    """An account where every client document has something to act on."""
    team: Team
    conversation_id: str


@pytest.fixture
async def scene(client) -> Scene:
    team = await make_team(client)
    conversation_id = (await inbound(client, team.account, "+14155550123", "My sink leaks"))["conversationId"]
    assigned = data(await gql(client, operation("AssignConversation"),
                              {"conversationId": conversation_id, "assigneeId": team["bob"].id},
                              token=team.admin.token))["assignConversation"]
    assert assigned["userErrors"] == []
    return Scene(team, conversation_id)


Setup = Callable[[object, Scene], Awaitable[tuple[dict, str | None]]]


async def _admin(client, s: Scene, variables: dict):
    return variables, s.team.admin.token


async def _bob(client, s: Scene, variables: dict):
    return variables, s.team["bob"].token


async def _none(client, s: Scene, variables: dict):
    return variables, None


async def _fresh_login(client, s: Scene):
    return {}, await login(client, s.team["bob"].user.email)


async def _failed_reply(client, s: Scene):
    """A reply of bob's that failed (as its delivery worker would have recorded it)."""
    sent = data(await gql(client, operation("SendMessage"), {"conversationId": s.conversation_id, "body": "Hello"},
                          token=s.team["bob"].token))["sendMessage"]["message"]
    await Message.filter(id=int(sent["id"])).update(delivery_status=DeliveryStatus.FAILED, delivery_error_code="30003")
    return {"messageId": sent["id"]}, s.team["bob"].token


# What each document needs to run: its variables and whose token (None: anonymous).
SETUPS: dict[str, Setup] = {
    "AccountSettings": lambda c, s: _admin(c, s, {}),
    "AssignConversation": lambda c, s: _admin(c, s, {
        "conversationId": s.conversation_id, "assigneeId": s.team["carol"].id, "note": "escalating",
        "expectedAssigneeId": s.team["bob"].id}),
    "ConversationThread": lambda c, s: _bob(c, s, {"id": s.conversation_id, "first": 10}),
    "CurrentUser": lambda c, s: _bob(c, s, {}),
    "EventCursor": lambda c, s: _bob(c, s, {}),
    "CreateUser": lambda c, s: _admin(c, s, {"input": {
        "email": "dana@ops.test", "name": "Dana Ops", "role": "AGENT", "password": PASSWORD}}),
    "InboxCounts": lambda c, s: _bob(c, s, {"status": "OPEN"}),
    "InboxPage": lambda c, s: _bob(c, s, {"filter": {"scope": "MINE"}, "first": 10}),
    "InboxView": lambda c, s: _bob(c, s, {"filter": {"scope": "MINE"}, "first": 10, "status": "OPEN"}),
    "Login": lambda c, s: _none(c, s, {"email": s.team["bob"].user.email, "password": PASSWORD}),
    "Logout": _fresh_login,
    "MarkNotificationsRead": lambda c, s: _bob(c, s, {"all": True}),
    "Notifications": lambda c, s: _bob(c, s, {"unreadOnly": False, "first": 10}),
    "MessagingChannel": lambda c, s: _admin(c, s, {}),
    "RetryMessage": _failed_reply,
    "RotateWebhookSecret": lambda c, s: _admin(c, s, {}),
    "SetAccountPlan": lambda c, s: _admin(c, s, {"plan": "ENTERPRISE"}),
    "SendMessage": lambda c, s: _bob(c, s, {"conversationId": s.conversation_id, "body": "On my way"}),
    "SetMessagingChannel": lambda c, s: _admin(
        c, s, {"input": {"provider": "SIMULATED", "senderNumber": "+14155550100"}}),
    "SetConversationStatus": lambda c, s: _bob(c, s, {"conversationId": s.conversation_id, "status": "CLOSED"}),
    "SetTyping": lambda c, s: _bob(c, s, {"conversationId": s.conversation_id, "isTyping": True}),
    "TeamMembers": lambda c, s: _admin(c, s, {"includeInactive": True}),
    "UpdateUser": lambda c, s: _admin(c, s, {"userId": s.team["carol"].id, "input": {"name": "Carol Renamed"}}),
    "Viewer": lambda c, s: _bob(c, s, {}),
}


def _runnable(name: str) -> bool:
    return all(op.operation != OperationType.SUBSCRIPTION for op in operations_of(name))


@pytest.mark.parametrize("name", [name for name in DOCUMENTS if _runnable(name)])
async def test_document_runs_without_errors(client, scene, name):
    # given
    assert name in SETUPS, f"add variables for graphql/operations/{name}.graphql to SETUPS in {__name__}"
    variables, token = await SETUPS[name](client, scene)

    # when
    result = await gql(client, operation(name), variables, token=token)

    # then
    answer = data(result)
    for field, value in answer.items():
        assert value is not None, f"{name}: {field} is null"
        if isinstance(value, dict) and "userErrors" in value:
            assert value["userErrors"] == [], f"{name}: {value['userErrors']}"
