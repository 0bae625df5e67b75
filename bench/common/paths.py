"""Where things are: the repository, bench/ (results files, the PostGraphile peer) and the
client documents of graphql/operations/ that every benchmark sends."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
BENCH = ROOT / "bench"
OPERATIONS = ROOT / "graphql" / "operations"


def operation(name: str) -> str:
    """The client document `graphql/operations/<name>.graphql`."""
    return (OPERATIONS / f"{name}.graphql").read_text()
