"""Export the schema for clients and review, beside each other in graphql/:

    python -m schema.export > graphql/schema.graphql                         (the SDL)
    python -m schema.export --possible-types > graphql/possible-types.json   (unions and interfaces)

The second is the map normalized caches need to match fragments on abstract types:
Apollo's `new InMemoryCache({possibleTypes})` and urql Graphcache's `possibleTypes`
option take it as it is."""
from __future__ import annotations

import argparse
import json

from graphql import GraphQLInterfaceType, GraphQLUnionType

from schema.app import build_schema


def sdl() -> str:
    return build_schema().as_str() + "\n"


def possible_types() -> dict[str, list[str]]:
    """Every union and interface with the names of its object types, sorted."""
    schema = build_schema()._schema
    return {
        name: sorted(member.name for member in schema.get_possible_types(kind))
        for name, kind in sorted(schema.type_map.items())
        if isinstance(kind, GraphQLUnionType | GraphQLInterfaceType) and not name.startswith("__")
    }


def possible_types_json() -> str:
    return json.dumps(possible_types(), indent=2) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m schema.export", description="Print the SDL, or the union/interface map."
    )
    parser.add_argument(
        "--possible-types", action="store_true",
        help="print the union/interface map (graphql/possible-types.json) instead of the SDL",
    )
    args = parser.parse_args()
    print(possible_types_json() if args.possible_types else sdl(), end="")


if __name__ == "__main__":
    main()
