"""The documents real clients send, from graphql/operations/."""
from __future__ import annotations

from tests.support.environment import REPO

OPERATIONS_DIR = REPO / "graphql" / "operations"


def operation(name: str) -> str:
    """graphql/operations/<name>.graphql, as clients send it."""
    return (OPERATIONS_DIR / f"{name}.graphql").read_text()
