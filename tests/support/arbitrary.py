"""Hypothesis strategies for input no client should send: text of any code point (lone
surrogates and NUL included), huge text, JSON of any shape, ids in every form but the
canonical one, and variables for a real operation shaped by the schema's own types,
with anything at all mixed in at every level."""
from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from functools import cache

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    GraphQLSchema,
    OperationDefinitionNode,
    build_schema,
    parse,
    type_from_ast,
)
from hypothesis import strategies as st

from tests.support.environment import REPO

LONE_SURROGATES = ["\ud800", "\udbff", "\udc00", "\udfff"]
# Text that has broken parsers, SQL, encoders and normalisers somewhere.
EDGE_TEXTS = [
    "", " ", "\t\r\n", "\x00", "a\x00b", *LONE_SURROGATES, "x\ud83d", "\ude00y", "😀", "e\u0301", "\u202e", "\ufeff",
    "\uffff", "\U0010ffff", "' OR '1'='1", "%", "_", "\\", "%_\\", "${x}", "{{x}}", "<script>", "null", "1", "-1",
    "0", "+1", "1e3", "١", "２", "\x7f", "\x1b[31m",
]
# Past every length limit of our text inputs (1600 for a message body, 254 for an
# email, 200 for a name), and past the request body limit (256 KiB).
HUGE_LENGTHS = [201, 255, 1601, 20_000, 300_000]
# Ids as our ids are not: zero, signs, padding, other digits, past the database's integer.
ID_FORMS = ["0", "-1", "01", "+1", " 1", "1 ", "１", "1.0", "1e2", "0x1", "2147483647", "2147483648", "9" * 40, "abc"]

# Every code point hypothesis knows, surrogates (category Cs) included.
any_character = st.characters(exclude_categories=())
with_lone_surrogate = st.tuples(st.text(max_size=8), st.sampled_from(LONE_SURROGATES), st.text(max_size=8)).map(
    "".join
)
huge_text = st.tuples(st.sampled_from(["x", " ", "é", "😀", "\x00"]), st.sampled_from(HUGE_LENGTHS)).map(
    lambda parts: parts[0] * parts[1]
)
short_nasty_text = st.one_of(
    st.sampled_from(EDGE_TEXTS), st.text(any_character, max_size=30), with_lone_surrogate, st.text(max_size=20),
)
nasty_text = st.one_of(short_nasty_text, huge_text)
# Text a UTF-8 text frame or a URL can carry: no surrogates (st.text leaves them out).
encodable_text = st.one_of(
    st.sampled_from([text for text in EDGE_TEXTS if not any(0xD800 <= ord(char) <= 0xDFFF for char in text)]),
    st.text(max_size=40),
)

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), nasty_text,
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(any_character, max_size=8), children,
                                                                      max_size=4),
    max_leaves=10,
)


def mostly(shaped: st.SearchStrategy[object], other: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    """`shaped` seven times in eight (one_of picks its branches alike): a request has
    several values, and all must have the right shape to get past the type checks to the
    code behind them; the rest try the checks themselves."""
    return st.one_of(*[shaped] * 7, other)


def ids(real: Sequence[str]) -> st.SearchStrategy[object]:
    """Real ids (this account's, another account's), and ids in every other form."""
    return st.one_of(st.sampled_from(real), st.sampled_from(ID_FORMS), st.integers(), nasty_text)


def is_one_of(value: object, protected: Collection[str]) -> bool:
    """Whether `value` is one of these ids as an ID variable takes it (an integer, or a
    float with an integral value, is coerced to its digits)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        value = int(value)
    return str(value) in protected if isinstance(value, (str, int)) else False


@cache
def schema() -> GraphQLSchema:
    """The published schema (graphql/schema.graphql), for the types of variables."""
    return build_schema((REPO / "graphql" / "schema.graphql").read_text())


def variables_for(document: str, real_ids: Sequence[str], protected: Collection[str]) -> st.SearchStrategy[object]:
    """Variables for the document's operation: each declared variable (required ones
    mostly present) a value of its type or anything at all, or the whole of `variables`
    anything at all. No ID anywhere is one of `protected` (the members the test acts as:
    an arbitrary mutation must not deactivate them)."""
    operation = next(d for d in parse(document).definitions if isinstance(d, OperationDefinitionNode))
    required: dict[str, st.SearchStrategy[object]] = {}
    optional: dict[str, st.SearchStrategy[object]] = {}
    for definition in operation.variable_definitions or ():
        kind = type_from_ast(schema(), definition.type)
        assert kind is not None, definition
        values = _values(kind, tuple(real_ids), frozenset(protected))  # type: ignore[arg-type]
        target = required if isinstance(kind, GraphQLNonNull) else optional
        target[definition.variable.name.value] = values
    shaped = st.fixed_dictionaries(required, optional=optional)
    extra = st.dictionaries(st.text(any_character, max_size=8), json_values, max_size=2)
    return mostly(st.one_of(shaped, st.fixed_dictionaries({}, optional={**required, **optional}),
                            st.tuples(shaped, extra).map(lambda pair: {**pair[1], **pair[0]})), json_values)


def _values(kind: GraphQLInputType, real_ids: tuple[str, ...], protected: frozenset[str]) -> st.SearchStrategy[object]:
    if isinstance(kind, GraphQLNonNull):
        return _values(kind.of_type, real_ids, protected)
    shaped: st.SearchStrategy[object]
    if isinstance(kind, GraphQLList):
        shaped = st.lists(_values(kind.of_type, real_ids, protected), max_size=3)
    elif isinstance(kind, GraphQLInputObjectType):
        fields = {name: _values(field.type, real_ids, protected) for name, field in kind.fields.items()}
        shaped = st.fixed_dictionaries({}, optional=fields)
    elif isinstance(kind, GraphQLEnumType):
        shaped = st.sampled_from(sorted(kind.values))
    else:
        assert isinstance(kind, GraphQLScalarType), kind
        shaped = _scalars(kind.name, real_ids)
    values = mostly(shaped, json_values)
    if isinstance(kind, GraphQLScalarType) and kind.name == "ID":
        values = values.filter(lambda value: not is_one_of(value, protected))
    return values


def _scalars(name: str, real_ids: tuple[str, ...]) -> st.SearchStrategy[object]:
    if name == "ID":
        return ids(real_ids)
    if name == "Int":
        return st.one_of(st.integers(-3, 200), st.integers())  # page sizes, and past 32 bits
    if name == "Float":
        return st.floats(allow_nan=False, allow_infinity=False)
    if name == "Boolean":
        return st.booleans()
    return nasty_text  # String, and custom scalars (DateTime), as text of any kind
