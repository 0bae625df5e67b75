"""Compiled execution of the documents clients send most (graphql/operations/): a
request whose query text is exactly one of them is answered without graphql-core,
with the same JSON; see schema/compiled/inbox.py (the inbox queries) and assign.py
(the assignment mutation) for what is compiled and when it declines in favour of the
general path."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphql import FieldNode, OperationDefinitionNode, Source, get_location, parse

from resolvers.inbox import AssigneeScope
from schema.compiled import inbox
from schema.compiled.assign import execute_assign
from schema.compiled.inbox import Decline
from schema.compiled.sql import reader
from schema.compiled.viewer import compiled_viewer
from schema.limits import Limits

OPERATIONS_DIR = Path(__file__).resolve().parents[2] / "graphql" / "operations"


@dataclass(frozen=True)
class CompiledOperation:
    name: str
    variables: frozenset[str]
    page: bool  # selects `inbox`
    counts: bool  # selects `inboxCounts`
    mutates = False

    async def execute(self, variables: dict[str, Any], token: str | None, limits: Limits) -> dict[str, Any]:
        """The response's `data`; raises Decline when the general path must answer."""
        if not variables.keys() <= self.variables:
            raise Decline
        args = inbox.page_args(variables, limits) if self.page else None
        status = inbox.counts_status(variables) if self.counts else None
        async with reader() as db:
            viewer = await compiled_viewer(db, token)
            if viewer is None:
                raise Decline
            # The features STARTER lacks: counts, and every scope but ALL.
            scoped = args is not None and args.scope != AssigneeScope.ALL
            if (status is not None or scoped) and not viewer.has_team_inbox:
                raise Decline
            rows = await inbox.page_rows(db, viewer, args) if args else []
            per_assignee = await inbox.counter_rows(db, viewer, status) if status is not None else {}
            wanted = inbox.page_user_ids(rows, args) if args else set()
            wanted |= {user_id for user_id in per_assignee if user_id is not None}
            users = await inbox.user_rows(db, viewer, wanted, active=self.counts) if wanted or self.counts else {}
        if args and args.assignee_id is not None and args.assignee_id not in users:
            raise Decline  # no such member in this account: the general path says so
        data: dict[str, Any] = {}
        if args:
            data["inbox"] = inbox.render_page(rows, args, users)
        if status is not None:
            data["inboxCounts"] = inbox.render_counts(viewer, status, per_assignee, users)
        return data


@dataclass(frozen=True)
class CompiledAssignment:
    """AssignConversation. A mutation: once `execute` gets past its checks it must be
    answered, never handed to the general path (see compiled_route)."""

    name: str
    masked_error: dict[str, Any]  # what the general path answers when the resolver raises
    mutates = True

    async def execute(self, variables: dict[str, Any], token: str | None, limits: Limits) -> dict[str, Any]:
        return await execute_assign(variables, token)


def _masked_error(document: str) -> dict[str, Any]:
    """graphql-core's answer to an unexpected error in the document's root field."""
    operation = next(d for d in parse(document).definitions if isinstance(d, OperationDefinitionNode))
    field = next(s for s in operation.selection_set.selections if isinstance(s, FieldNode))
    if field.loc is None:  # parse() keeps locations unless told not to
        raise ValueError(f"{document!r} was parsed without locations")
    location = get_location(Source(document), field.loc.start)
    return {"data": None, "errors": [{
        "message": "Internal server error", "locations": [{"line": location.line, "column": location.column}],
        "path": [field.name.value],
    }]}


def _load(name: str, *, page: bool, counts: bool, variables: set[str]) -> tuple[str, CompiledOperation]:
    return (OPERATIONS_DIR / f"{name}.graphql").read_text(), CompiledOperation(name, frozenset(variables), page, counts)


def _load_assignment() -> tuple[str, CompiledAssignment]:
    document = (OPERATIONS_DIR / "AssignConversation.graphql").read_text()
    return document, CompiledAssignment("AssignConversation", _masked_error(document))


# The exact text of each compiled document: a request matches only byte for byte, so
# anything else (another selection, a changed document) takes the general path.
COMPILED: dict[str, CompiledOperation | CompiledAssignment] = dict([
    _load("InboxPage", page=True, counts=False, variables={"filter", "first", "after"}),
    _load("InboxCounts", page=False, counts=True, variables={"status"}),
    _load("InboxView", page=True, counts=True, variables={"filter", "first", "after", "status"}),
    _load_assignment(),
])


def compiled_operation(query: Any, operation_name: Any) -> CompiledOperation | CompiledAssignment | None:
    operation = COMPILED.get(query) if isinstance(query, str) else None
    if operation is None or operation_name not in (None, operation.name):
        return None
    return operation
