"""Subscriptions execute each distinct selection once per event, not once per subscriber.

graphql-core runs a subscription's selection set on every event for every subscriber;
with a thousand sockets watching one inbox that was most of the server's time. But every
subscriber of an event in this process receives the same root object (the objects are
built once per event: schema/event_cache.py), and what executing a selection on it
yields depends only on:

- that root object;
- the document's text and which operation in it runs;
- the variables read below the root field. The root field's own arguments (`filter`,
  `after`, `conversationId`) chose the source stream, i.e. which events arrive, never
  what an event renders, so clients resuming from different cursors still share;
- the context, but only in the resolvers listed in CONTEXT_FIELDS. A document that
  selects one of those is executed per subscriber, exactly as before. No resolver below
  a subscription reads the viewer today; tests/test_multiplex_fields.py fails when one
  starts taking `info` without being listed here.

So the first subscriber to reach an event executes it and the others with the same key
reuse the result (the same `data` dict, which the socket handler then serialises once:
server/ws_frames.py). Errors are shared as found; masking still happens per subscriber
in Strawberry's pipeline, which never mutates the shared result."""
from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from typing import Any

import orjson
from graphql import FieldNode, Node, Undefined, VariableNode, Visitor, visit
from graphql.execution.executor import Executor
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

import schema.graphql_core_fixes  # noqa: F401  (per-event executors must keep their own memo)

# (GraphQL type, field) whose resolver reads `info` (the context, the viewer, limits...):
# their result may differ between subscribers of the same event.
CONTEXT_FIELDS = frozenset({
    ("Conversation", "timeline"),  # page size from the connection's limits
})
_CONTEXT_FIELD_NAMES = frozenset(name for _, name in CONTEXT_FIELDS)

# Results of recent events, each entry holding its root object so its id() is not
# reused while cached. Subscribers reach an event within moments of each other; the
# bound only caps memory when many distinct selections render many events at once.
_MAX_RESULTS = 1024
_results: OrderedDict[tuple[int, Hashable], tuple[Any, Any]] = OrderedDict()

_PRIVATE = "private"  # the selection key of a subscription that does not share

# What a document's selection reads, by (text, operation offset): the analysis walks the
# document, and thousands of clients subscribe with the same few documents.
_MAX_DOCUMENTS = 256
_analysed: OrderedDict[tuple[str, int], frozenset[str] | None] = OrderedDict()


class MultiplexingExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor (built once per operation), sharing per-event executions.
    Queries and mutations never build per-event executors, so they run as before."""

    _selection: Hashable | None = None

    def build_per_event_executor(self, payload: Any) -> Any:
        if self._selection is None:
            self._selection = selection_key(self)
        if self._selection is _PRIVATE:
            return super().build_per_event_executor(payload)
        return _SharedEventExecution(self, payload, self._selection)


class _SharedEventExecution:
    """Stands in for the per-event executor: graphql-core only calls `execute_operation`."""

    __slots__ = ("executor", "payload", "selection")

    def __init__(self, executor: MultiplexingExecutor, payload: Any, selection: Hashable):
        self.executor, self.payload, self.selection = executor, payload, selection

    def execute_operation(self, serially: bool | None = None) -> Any:
        key = (id(self.payload), self.selection)
        entry = _results.get(key)
        if entry is None or entry[0] is not self.payload:
            entry = (self.payload, self._execute(serially))
            _results[key] = entry
            while len(_results) > _MAX_RESULTS:
                _results.popitem(last=False)
        outcome = entry[1]
        if not isinstance(outcome, asyncio.Future):
            return outcome
        if outcome.done():
            return outcome.result()  # raises as awaiting it would
        # Its own task, awaited through a shield: the subscriber that started it may be
        # cancelled (its client left) without cancelling it for the others.
        return asyncio.shield(outcome)

    def _execute(self, serially: bool | None) -> Any:
        executor = Executor.build_per_event_executor(self.executor, self.payload)
        result = executor.execute_operation(serially)
        if not self.executor.is_awaitable(result):
            return result
        task = asyncio.ensure_future(result)
        # Whoever awaits it gets its exception; if every subscriber left, nobody does.
        task.add_done_callback(lambda done: done.cancelled() or done.exception())
        return task


def selection_key(executor: Executor[Any]) -> Hashable:
    """What, besides the root object, decides an event's result for this subscription;
    `_PRIVATE` when it may depend on the subscriber."""
    operation = executor.operation
    if operation.loc is None:
        return _PRIVATE
    document = (operation.loc.source.body, operation.loc.start)
    if document in _analysed:
        variables = _analysed[document]
    else:
        fields, read = _reads(operation.selection_set.selections, executor.fragment_definitions.values())
        variables = None if fields & _CONTEXT_FIELD_NAMES else frozenset(read)
        _analysed[document] = variables
        while len(_analysed) > _MAX_DOCUMENTS:
            _analysed.popitem(last=False)
    if variables is None:  # it selects a field that reads the context
        return _PRIVATE
    sources = executor.variable_values.sources
    values = {
        name: sources[name].value for name in variables if name in sources and sources[name].value is not Undefined
    }
    try:
        frozen = orjson.dumps(values, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # not JSON (an integer beyond 64 bits...): do not share
        return _PRIVATE
    return (executor.schema, *document, frozen)


class _Collector(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.fields: set[str] = set()
        self.variables: set[str] = set()

    def enter_field(self, node: FieldNode, *_args: Any) -> None:
        self.fields.add(node.name.value)

    def enter_variable(self, node: VariableNode, *_args: Any) -> None:
        self.variables.add(node.name.value)


def _reads(root_selections: Iterable[Node], fragments: Iterable[Node]) -> tuple[set[str], set[str]]:
    """Field names selected and variables read anywhere except in the root fields' own
    arguments; every fragment counts, used or not (over-approximating only shares less)."""
    collector = _Collector()
    for selection in root_selections:
        if isinstance(selection, FieldNode):
            collector.fields.add(selection.name.value)
            for directive in selection.directives or ():
                visit(directive, collector)
            if selection.selection_set is not None:
                visit(selection.selection_set, collector)
        else:
            visit(selection, collector)
    for fragment in fragments:
        visit(fragment, collector)
    return collector.fields, collector.variables
