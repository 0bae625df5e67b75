"""Event cursors as the tests read them back."""
from __future__ import annotations

from schema.events import parse_event_cursor


def event_seq(cursor: str) -> int:
    """The event log position an event's `cursor` names (it must name one)."""
    seq = parse_event_cursor(cursor)
    assert seq is not None, f"not an event cursor: {cursor!r}"
    return seq
