"""Sharing an event's execution between subscribers (schema/multiplex.py) is right only
while nothing below a subscription depends on who is watching except through the root
objects. These checks fail when a field starts reading the context without being listed
in CONTEXT_FIELDS, or a type gains per-viewer state, so the change is a decision."""
from __future__ import annotations

import dataclasses

from graphql import GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLSchema, GraphQLUnionType
from strawberry.schema.schema_converter import GraphQLCoreConverter

from schema.app import build_schema
from schema.multiplex import CONTEXT_FIELDS

# What the objects below a subscription carry besides their fields: the event's rows,
# its shared loaders and its seq, the same for every subscriber. Per-viewer state (a
# viewer, a role...) here would differ between subscribers sharing one execution.
EVENT_STATE = {"model", "loaders", "seq"}


def _named(type_):
    while isinstance(type_, (GraphQLNonNull, GraphQLList)):
        type_ = type_.of_type
    return type_


def below_subscriptions(schema: GraphQLSchema) -> list[GraphQLObjectType]:
    """Every object type an event's execution can reach."""
    seen: dict[str, GraphQLObjectType] = {}
    assert schema.subscription_type is not None
    pending = [_named(field.type) for field in schema.subscription_type.fields.values()]
    while pending:
        type_ = pending.pop()
        if isinstance(type_, GraphQLUnionType):
            pending.extend(type_.types)
        elif isinstance(type_, GraphQLObjectType) and type_.name not in seen:
            seen[type_.name] = type_
            pending.extend(_named(field.type) for field in type_.fields.values())
    return list(seen.values())


def test_fields_that_read_the_context_below_a_subscription_are_listed():
    # given
    types = below_subscriptions(build_schema()._schema)

    # when: fields whose resolver takes `info`, or that run permissions or extensions
    readers = set()
    for type_ in types:
        for name, field in type_.fields.items():
            definition = field.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
            resolver = getattr(definition, "base_resolver", None)
            if (resolver is not None and resolver.info_parameter is not None) or definition.permission_classes \
                    or definition.extensions:
                readers.add((type_.name, name))

    # then
    assert readers == set(CONTEXT_FIELDS)


def test_objects_below_a_subscription_carry_only_the_events_state():
    for type_ in below_subscriptions(build_schema()._schema):
        definition = type_.extensions[GraphQLCoreConverter.DEFINITION_BACKREF]
        exposed = {field.python_name for field in definition.fields}
        private = {field.name for field in dataclasses.fields(definition.origin)} - exposed
        assert private <= EVENT_STATE, f"{type_.name} carries {private - EVENT_STATE}"


def test_the_walk_reaches_what_subscriptions_render():
    names = {type_.name for type_ in below_subscriptions(build_schema()._schema)}
    assert {"MessageAdded", "InboxCountsChanged", "Notification", "Conversation", "User", "Contact"} <= names
