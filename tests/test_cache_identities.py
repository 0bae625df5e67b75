"""What a normalized client cache (Apollo InMemoryCache, urql Graphcache: `__typename` +
`id`) needs from the schema and the shipped documents: a stable id on every object it
keeps as an entity, equal wherever the same thing appears; event documents that carry
what the inbox row, the counts and the thread show; the union map
(graphql/possible-types.json); and a cursor to subscribe from with nothing lost."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from gql.client import AsyncClientSession
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLUnionType,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    get_named_type,
    parse,
    visit,
)

from schema.app import build_schema
from schema.export import possible_types_json
from subscriptions import log
from tests.support.documents import OPERATIONS_DIR, operation
from tests.support.graphql_path import COMPILED
from tests.support.http import data, error_codes, gql
from tests.support.http import mutate as call
from tests.support.live import EventCollector, running_server, ws_session
from tests.support.teams import login, make_team
from tests.support.webhook import inbound

POSSIBLE_TYPES_PATH = Path(__file__).resolve().parent.parent / "graphql" / "possible-types.json"
REGENERATE = ".venv/bin/python -m schema.export --possible-types > graphql/possible-types.json"

# Every object type, as a client cache treats it. Entities are normalized (`Type:id`);
# the rest are embedded in whatever holds them: pages and their rows' cursors, one
# member's count within the counts, payloads and errors, and the events a subscription
# yields (what they carry is normalized; the event itself is a message, not a thing).
ENTITIES = {
    "Account", "AssignmentEvent", "AuditEntry", "Contact", "Conversation", "InboxCounts", "Message", "Notification",
    "StatusChange", "User", "Viewer",
}
EMBEDDED = {
    "InboxConnection", "InboxEdge", "NotificationConnection", "NotificationEdge", "TimelineConnection",
    "TimelineEdge", "PageInfo", "AssigneeCount", "AuditEntryConnection", "AuditEntryEdge", "AuditValues",
    "MessageDelivery", "MessagingChannel",
    "AccountPayload", "ConversationPayload", "LoginPayload", "LogoutPayload", "MarkNotificationsReadPayload",
    "SendMessagePayload", "SetTypingPayload", "UserPayload", "UserError",
    "MessageAdded", "MessageDeliveryChanged", "ConversationAssigned", "ConversationStatusChanged", "TypingChanged",
    "InboxCountsChanged",
    "ResyncRequired",
}
ROOTS = {"Query", "Mutation", "Subscription"}

VIEWER = "query { viewer { id user { id } } }"
INBOX_COUNTS = operation("InboxCounts")
INBOX_EVENTS = operation("InboxEvents")
ASSIGN = operation("AssignConversation")


def _object_types() -> dict[str, GraphQLObjectType]:
    schema = build_schema()._schema
    return {name: kind for name, kind in schema.type_map.items()
            if isinstance(kind, GraphQLObjectType) and not name.startswith("__")}


# -- the schema ------------------------------------------------------------------------


def test_every_object_type_is_either_a_cached_entity_with_an_id_or_embedded_without_one():
    # given
    types = _object_types()

    # when
    unclassified = set(types) - ENTITIES - EMBEDDED - ROOTS
    entity_ids = {name: str(types[name].fields["id"].type) for name in ENTITIES if "id" in types[name].fields}
    embedded_with_id = {name for name in EMBEDDED if "id" in types[name].fields}

    # then
    assert unclassified == set(), f"say whether a client caches these (ENTITIES) or embeds them: {unclassified}"
    assert entity_ids == dict.fromkeys(ENTITIES, "ID!")
    assert embedded_with_id == set(), "a type with an id is an entity: move it to ENTITIES"


def test_checked_in_possible_types_match_the_live_schema():
    # given
    checked_in = POSSIBLE_TYPES_PATH.read_text()

    # when
    live = possible_types_json()

    # then
    assert checked_in == live, f"graphql/possible-types.json is out of date; regenerate it with `{REGENERATE}`"


def test_possible_types_list_every_union_and_interface_with_its_members_sorted():
    # given
    schema = build_schema()._schema

    # when
    possible = json.loads(POSSIBLE_TYPES_PATH.read_text())

    # then
    abstract = {name: kind for name, kind in schema.type_map.items()
                if isinstance(kind, GraphQLUnionType | GraphQLInterfaceType) and not name.startswith("__")}
    assert set(possible) == set(abstract) and {"TimelineItem", "InboxEvent", "ConversationEvent"} <= set(abstract)
    for name, members in possible.items():
        assert members == sorted(kind.name for kind in schema.get_possible_types(abstract[name]))


# -- the shipped documents -------------------------------------------------------------


class _SelectionsWithoutId(Visitor):
    """Selection sets on an entity type (a field's own, or a fragment's) without its id."""

    def __init__(self, type_info: TypeInfo, fragments: dict[str, FragmentDefinitionNode]):
        super().__init__()
        self.type_info, self.fragments = type_info, fragments
        self.missing: list[str] = []

    def enter_selection_set(self, node: SelectionSetNode, *_args: Any) -> None:
        kind = get_named_type(self.type_info.get_parent_type())
        if isinstance(kind, GraphQLObjectType) and kind.name in ENTITIES and "id" not in _fields(node, self.fragments):
            self.missing.append(kind.name)


def _fields(selection_set: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode]) -> set[str]:
    names: set[str] = set()
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            names.add(selection.name.value)
        elif isinstance(selection, FragmentSpreadNode):
            names |= _fields(fragments[selection.name.value].selection_set, fragments)
        elif isinstance(selection, InlineFragmentNode) and selection.type_condition is None:
            names |= _fields(selection.selection_set, fragments)
    return names


@pytest.mark.parametrize("name", sorted(path.stem for path in OPERATIONS_DIR.glob("*.graphql")))
def test_every_cached_object_a_document_selects_comes_with_its_id(name):
    """Without it Apollo cannot merge the object into its entry (and warns that cache data may be lost)."""
    # given
    schema = build_schema()._schema
    document = parse(operation(name))
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}

    # when
    type_info = TypeInfo(schema)
    finder = _SelectionsWithoutId(type_info, fragments)
    visit(document, TypeInfoVisitor(type_info, finder))

    # then
    assert finder.missing == [], f"{name}.graphql selects these without `id`: {finder.missing}"


Tree = dict[str, "Tree"]


def _tree(selection_set: SelectionSetNode | None, fragments: dict[str, FragmentDefinitionNode]) -> Tree:
    """What a selection reads, by field name, named fragments merged in; what an inline
    fragment reads of one union member sits under `... on <Member>`."""
    tree: Tree = {}
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            _merge(tree, {selection.name.value: _tree(selection.selection_set, fragments)})
        elif isinstance(selection, FragmentSpreadNode):
            _merge(tree, _tree(fragments[selection.name.value].selection_set, fragments))
        elif isinstance(selection, InlineFragmentNode):
            below = _tree(selection.selection_set, fragments)
            condition = selection.type_condition
            _merge(tree, {f"... on {condition.name.value}": below} if condition else below)
    return tree


def _merge(into: Tree, other: Tree) -> None:
    for key, value in other.items():
        _merge(into.setdefault(key, {}), value)


def _selection(name: str, *path: str) -> Tree:
    """What graphql/operations/<name>.graphql selects below its root field, then `path`."""
    document = parse(operation(name))
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    [definition] = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    [tree] = _tree(definition.selection_set, fragments).values()
    for key in path:
        tree = tree[key]
    return tree


def _not_covered(have: Tree, need: Tree, where: str = "") -> list[str]:
    missing = []
    for key, below in need.items():
        if key not in have:
            missing.append(f"{where}{key}")
        else:
            missing += _not_covered(have[key], below, f"{where}{key}.")
    return missing


@pytest.mark.parametrize(
    "event", ["MessageAdded", "MessageDeliveryChanged", "ConversationAssigned", "ConversationStatusChanged"]
)
def test_inbox_events_carry_everything_the_inbox_row_shows(event):
    # given
    row = _selection("InboxPage", "edges", "node")

    # when
    conversation = _selection("InboxEvents", f"... on {event}", "conversation")

    # then
    assert _not_covered(conversation, row) == []


def test_inbox_counts_changed_carries_what_the_counts_query_selects():
    # given
    counts = _selection("InboxCounts")

    # when
    pushed = _selection("InboxEvents", "... on InboxCountsChanged", "counts")

    # then
    assert pushed == counts and "id" in counts


def test_conversation_events_carry_what_the_thread_shows_of_what_they_change():
    # given
    thread = _selection("ConversationThread")
    header = {key: thread[key] for key in ("id", "status", "version", "assignee")}

    # when
    def event(kind: str) -> Tree:
        return _selection("ConversationEvents", f"... on {kind}")

    # then: the new message as the timeline shows it, the header as it is now
    message_added = event("MessageAdded")
    assert _not_covered(message_added["message"], thread["timeline"]["edges"]["node"]["... on Message"]) == []
    assert _not_covered(message_added["conversation"], header) == []
    assigned = {**header, "assignmentHistory": thread["assignmentHistory"]}
    assert _not_covered(event("ConversationAssigned")["conversation"], assigned) == []
    status = {key: header[key] for key in ("id", "status", "version")}
    assert _not_covered(event("ConversationStatusChanged")["conversation"], status) == []
    typing = {"id": {}, "typingUsers": thread["typingUsers"]}
    assert _not_covered(event("TypingChanged")["conversation"], typing) == []
    shown = thread["timeline"]["edges"]["node"]["... on Message"]
    delivery = {"id": shown["id"], "delivery": shown["delivery"]}
    assert _not_covered(event("MessageDeliveryChanged")["message"], delivery) == []


# -- the ids at run time ---------------------------------------------------------------


async def test_viewer_id_is_the_same_for_every_login_of_a_member_and_differs_between_members(client):
    # given
    team = await make_team(client)
    bob, carol = team["bob"], team["carol"]
    second_token = await login(client, bob.user.email)

    # when
    ids = {name: data(await gql(client, VIEWER, token=token))["viewer"]["id"]
           for name, token in (("bob", bob.token), ("bob again", second_token), ("carol", carol.token))}
    repeated = data(await gql(client, VIEWER, token=bob.token))["viewer"]["id"]

    # then
    assert ids["bob"] == ids["bob again"] == repeated
    assert ids["bob"] != ids["carol"]


async def test_inbox_counts_id_is_per_viewer_and_status_on_every_path(client):
    # given
    team = await make_team(client)
    bob, carol = team["bob"], team["carol"]
    await inbound(client, team.account, "+14155550901", "Hello")

    # when
    def counts_id(result: dict) -> str:
        return data(result)["inboxCounts"]["id"]

    bob_open = counts_id(await gql(client, INBOX_COUNTS, {"status": "OPEN"}, token=bob.token))
    second_login = await login(client, bob.user.email)
    bob_open_again = counts_id(await gql(client, INBOX_COUNTS, {"status": "OPEN"}, token=second_login))
    bob_closed = counts_id(await gql(client, INBOX_COUNTS, {"status": "CLOSED"}, token=bob.token))
    carol_open = counts_id(await gql(client, INBOX_COUNTS, {"status": "OPEN"}, token=carol.token))
    # another document than the compiled one: the general path's answer
    general = counts_id(await gql(client, "query { inboxCounts(status: OPEN) { id } }", token=bob.token))

    # then
    assert bob_open == bob_open_again == general
    assert len({bob_open, bob_closed, carol_open}) == 3


async def test_pushed_counts_carry_the_id_of_each_subscribers_counts_query(settings, graphql_path):
    async with running_server(replace(settings, compiled_documents=graphql_path == COMPILED)) as server, \
            server.http() as http:
        # given: bob watching OPEN and CLOSED, carol OPEN, all from the same events
        team = await make_team(http)
        bob, carol = team["bob"], team["carol"]
        conversation = (await inbound(http, team.account, "+14155550902", "Hello"))["conversationId"]
        expected = {
            (name, status): data(await gql(http, INBOX_COUNTS, {"status": status}, token=member.token))["inboxCounts"]
            for name, member in (("bob", bob), ("carol", carol)) for status in ("OPEN", "CLOSED")
        }
        cursor = data(await gql(http, operation("EventCursor"), token=bob.token))["eventCursor"]
        async with ws_session(server, bob.token) as bob_session, ws_session(server, carol.token) as carol_session:
            def view(session: AsyncClientSession, status: str) -> EventCollector:
                return EventCollector(session, INBOX_EVENTS, {"filter": {"status": status}, "after": cursor})

            views = {
                ("bob", "OPEN"): view(bob_session, "OPEN"),
                ("bob", "CLOSED"): view(bob_session, "CLOSED"),
                ("carol", "OPEN"): view(carol_session, "OPEN"),
            }

            # when: a change that moves the counts of both statuses
            await call(http, ASSIGN, {"conversationId": conversation, "assigneeId": bob.id}, team.admin.token)
            await call(http, operation("SetConversationStatus"),
                       {"conversationId": conversation, "status": "CLOSED"}, team.admin.token)

            # then: the last counts each view got are its viewer's query answer now, id included
            for (name, status), collector in views.items():
                await collector.wait_for(partial(_counts_after_close, status=status))
                await collector.stop()
                pushed = [item["inboxEvents"]["counts"] for item in collector.items if _is_counts(item)]
                member = bob if name == "bob" else carol
                now = data(await gql(http, INBOX_COUNTS, {"status": status}, token=member.token))["inboxCounts"]
                assert pushed[-1] == now
                assert {counts["id"] for counts in pushed} == {expected[name, status]["id"]}


def _is_counts(item: dict) -> bool:
    return item["inboxEvents"]["__typename"] == "InboxCountsChanged"


def _counts_after_close(item: dict, status: str) -> bool:
    """The counts once the conversation is closed: none open, one closed."""
    return _is_counts(item) and item["inboxEvents"]["counts"]["all"] == (1 if status == "CLOSED" else 0)


# -- eventCursor ------------------------------------------------------------------------


async def test_event_cursor_needs_a_login(client):
    # when
    result = await gql(client, operation("EventCursor"))

    # then
    assert error_codes(result) == ["UNAUTHENTICATED"]


async def test_subscribing_after_the_event_cursor_receives_what_happened_since_the_query_and_nothing_before(settings):
    async with running_server(settings) as server, server.http() as http:
        # given: something happened, the client read its view and the cursor, then
        # something else happened before its subscription reached the server
        team = await make_team(http)
        bob = team["bob"]
        await inbound(http, team.account, "+14155550903", "Before the query")
        cursor = data(await gql(http, operation("EventCursor"), token=bob.token))["eventCursor"]
        gap = (await inbound(http, team.account, "+14155550903", "Between the query and the subscription"))

        # when
        async with ws_session(server, bob.token) as session:
            events = EventCollector(session, INBOX_EVENTS, {"after": cursor})
            await inbound(http, team.account, "+14155550903", "Live")
            await events.wait_for(lambda item: _body(item) == "Live")
            await events.stop()

        # then
        messages = [_body(item) for item in events.items if _body(item) is not None]
        assert messages == ["Between the query and the subscription", "Live"]
        assert events.items[0]["inboxEvents"]["message"]["id"] == gap["messageId"]


async def test_an_account_without_events_has_a_cursor_to_subscribe_from(settings):
    async with running_server(settings) as server, server.http() as http:
        # given: a new account, nothing has happened in it yet
        team = await make_team(http)
        cursor = data(await gql(http, operation("EventCursor"), token=team["bob"].token))["eventCursor"]

        # when
        async with ws_session(server, team["bob"].token) as session:
            events = EventCollector(session, INBOX_EVENTS, {"after": cursor})
            await inbound(http, team.account, "+14155550904", "First ever")
            await events.wait_for(lambda item: _body(item) == "First ever")
            await events.stop()

        # then: no ResyncRequired, the first event is the account's first
        assert events.items[0]["inboxEvents"]["__typename"] == "MessageAdded"


def _body(item: dict) -> str | None:
    message = item["inboxEvents"].get("message")
    return None if message is None else message["body"]


async def test_a_quiet_accounts_cursor_is_not_expired_by_pruning_other_accounts_events(settings):
    async with running_server(settings) as server, server.http() as http:
        # given: a quiet account, and a busy one whose old events the log has pruned
        quiet, busy = await make_team(http), await make_team(http)
        for body in ("One", "Two", "Three"):
            await inbound(http, busy.account, "+14155550905", body)
        assert await log.prune(timedelta(0)) > 0
        cursor = data(await gql(http, operation("EventCursor"), token=quiet["bob"].token))["eventCursor"]

        # when
        async with ws_session(server, quiet["bob"].token) as session:
            events = EventCollector(session, INBOX_EVENTS, {"after": cursor})
            await inbound(http, quiet.account, "+14155550906", "First ever")
            await events.wait_for(lambda item: _body(item) == "First ever" or
                                  item["inboxEvents"]["__typename"] == "ResyncRequired")
            await events.stop()

        # then: nothing was missed, so nothing to resync
        assert events.items[0]["inboxEvents"]["__typename"] == "MessageAdded"
