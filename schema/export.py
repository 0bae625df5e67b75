"""Print the schema's SDL: `python -m schema.export > graphql/schema.graphql`."""
from schema.app import build_schema


def sdl() -> str:
    return build_schema().as_str() + "\n"


if __name__ == "__main__":
    print(sdl(), end="")
