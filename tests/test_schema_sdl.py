"""The checked-in SDL is the live schema: a schema change shows in review as an SDL diff."""
from pathlib import Path

from schema.export import sdl

SDL_PATH = Path(__file__).resolve().parent.parent / "graphql" / "schema.graphql"
REGENERATE = ".venv/bin/python -m schema.export > graphql/schema.graphql"


def test_checked_in_sdl_matches_the_live_schema():
    # given
    checked_in = SDL_PATH.read_text()

    # when
    live = sdl()

    # then
    assert checked_in == live, f"graphql/schema.graphql is out of date; regenerate it with `{REGENERATE}`"


def test_every_type_and_field_of_the_live_schema_has_a_description():
    """GraphiQL shows these; STYLE.md asks for one on every type and field."""
    # given
    from graphql import GraphQLInputObjectType, GraphQLObjectType

    from schema.app import build_schema

    schema = build_schema()._schema

    # when
    missing = []
    for name, kind in schema.type_map.items():
        if name.startswith("__") or name in {"String", "Int", "Float", "Boolean", "ID", "DateTime"}:
            continue
        if not kind.description:
            missing.append(name)
        if isinstance(kind, (GraphQLObjectType, GraphQLInputObjectType)):
            missing += [f"{name}.{field}" for field, value in kind.fields.items() if not value.description]

    # then
    assert missing == [], f"add a description to: {', '.join(missing)}"
