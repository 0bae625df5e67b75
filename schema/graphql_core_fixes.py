"""A workaround for a memory leak in graphql-core 3.3.2 (the version Strawberry 0.341
requires), applied once at import.

Every subscription event runs on `Executor.build_per_event_executor(payload)`, a shallow
copy of the subscription's executor. The copy shares the memo dict behind
`collect_subfields`, keyed by the identity of per-event field lists, so every event adds
entries that are never hit again: about 3 KB per event for as long as the subscription
lives (an inbox tab open all day leaks with every message in the account). Giving each
event its own memo keeps the memo's purpose (lists within one result) and frees it with
the event. Remove when graphql-core fixes `build_per_event_executor`."""
from __future__ import annotations

from typing import Any

from graphql.execution.executor import Executor

_build_per_event_executor = Executor.build_per_event_executor


def _per_event_executor_with_own_memo(self: Executor[Any], payload: Any) -> Executor[Any]:
    executor = _build_per_event_executor(self, payload)
    executor._relevant_sub_fields = {}
    return executor


if not getattr(Executor.build_per_event_executor, "_teaminbox_fixed", False):
    _per_event_executor_with_own_memo._teaminbox_fixed = True  # type: ignore[attr-defined]
    Executor.build_per_event_executor = _per_event_executor_with_own_memo  # type: ignore[method-assign]
