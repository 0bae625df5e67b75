"""The inbox documents (InboxPage, InboxCounts, InboxView) compiled: the JSON
graphql-core would answer, built straight from rows.

Only the happy path is compiled. Whatever would make the general path answer an error
(a bad variable, a cursor that doesn't decode, a plan without the feature, an unknown
member) or needs more than an index read (a search) declines, and the request is run
by the general path, which owns every error message. Differential tests
(tests/test_compiled_inbox.py) hold the two to the same bytes."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

from models import ConversationStatus
from resolvers.counts import UNASSIGNED_KEY
from resolvers.errors import DomainError
from resolvers.ids import parse_id
from resolvers.inbox import AssigneeScope
from resolvers.members import initials_of
from schema.compiled.sql import Reader, Row, as_datetime
from schema.compiled.viewer import CompiledViewer
from schema.identities import inbox_counts_id
from schema.limits import Limits
from schema.pagination import decode_cursor, encode_cursor


class Decline(Exception):
    """Not for the compiled path: let the general path answer."""


@dataclass(frozen=True)
class PageArgs:
    status: ConversationStatus
    scope: AssigneeScope
    assignee_id: int | None  # scope USER only
    size: int
    after: tuple[datetime, int] | None
    after_text: str | None


_FILTER_KEYS = {"status", "scope", "assigneeId", "search"}


def page_args(variables: dict[str, Any], limits: Limits) -> PageArgs:
    inbox_filter = variables.get("filter")
    if inbox_filter is None:
        inbox_filter = {}
    if not isinstance(inbox_filter, dict) or not inbox_filter.keys() <= _FILTER_KEYS:
        raise Decline
    status = _status(inbox_filter.get("status", "OPEN"))
    scope = _enum(AssigneeScope, inbox_filter.get("scope", "ALL"))
    if inbox_filter.get("search") not in (None, ""):
        raise Decline
    raw_assignee = inbox_filter.get("assigneeId")
    if (scope == AssigneeScope.USER) != (raw_assignee is not None):
        raise Decline
    first, after = variables.get("first"), variables.get("after")
    if (first is not None and type(first) is not int) or (after is not None and not isinstance(after, str)):
        raise Decline
    try:
        assignee_id = parse_id(_id_text(raw_assignee), "Member") if raw_assignee is not None else None
        size = limits.page_size(first)
        cursor = tuple(decode_cursor(after, (datetime, int))) if after else None
    except DomainError:
        raise Decline from None
    return PageArgs(status, scope, assignee_id, size, cursor, after)


def counts_status(variables: dict[str, Any]) -> ConversationStatus:
    """`$status: ConversationStatus!` in every compiled document: required."""
    return _status(variables.get("status"))


def _status(value: Any) -> ConversationStatus:
    return _enum(ConversationStatus, value)


E = TypeVar("E", bound=Enum)


def _enum(kind: type[E], value: Any) -> E:
    try:
        return kind(value)
    except ValueError:
        raise Decline from None


def _id_text(value: Any) -> str:
    """GraphQL's ID input takes a string or an integer (never a float or a boolean)."""
    if isinstance(value, str) or type(value) is int:
        return str(value)
    raise Decline


async def page_rows(reader: Reader, viewer: CompiledViewer, args: PageArgs) -> list[Row]:
    """One indexed read: the conversations with their contact and last message."""
    statement = reader.statement()
    p = statement.param
    where = [f"c.account_id = {p(viewer.account_id)}", f"c.status = {p(args.status.value)}"]
    if args.scope == AssigneeScope.UNASSIGNED:
        where.append("c.assignee_id IS NULL")
    elif args.scope != AssigneeScope.ALL:
        assignee = viewer.user_id if args.scope == AssigneeScope.MINE else args.assignee_id
        where.append(f"c.assignee_id = {p(assignee)}")
    if args.after is not None:
        at, last_id = args.after
        where.append(f"(c.last_activity_at < {p(at)} OR (c.last_activity_at = {p(at)} AND c.id < {p(last_id)}))")
    return await reader.rows(
        statement,
        "SELECT c.id, c.status, c.last_activity_at, c.version, c.contact_id, k.phone, k.name,"
        " c.assignee_id, c.last_message_id, m.direction, m.body, m.created_at AS message_at, m.author_id"
        " FROM conversation c JOIN contact k ON k.id = c.contact_id"
        " LEFT JOIN message m ON m.id = c.last_message_id"
        f" WHERE {' AND '.join(where)}"
        f" ORDER BY c.last_activity_at DESC, c.id DESC LIMIT {p(args.size + 1)}"
    )


async def counter_rows(reader: Reader, viewer: CompiledViewer, status: ConversationStatus) -> dict[int | None, int]:
    statement = reader.statement()
    rows = await reader.rows(
        statement,
        f"SELECT assignee_key, count FROM inbox_count WHERE account_id = {statement.param(viewer.account_id)}"
        f" AND status = {statement.param(status.value)} AND count <> 0"
    )
    return {(None if row["assignee_key"] == UNASSIGNED_KEY else row["assignee_key"]): row["count"] for row in rows}


async def user_rows(reader: Reader, viewer: CompiledViewer, ids: set[int], *, active: bool) -> dict[int, Row]:
    """The account's members with these ids (and every active one, for the counts)."""
    statement = reader.statement()
    # Placeholders are taken in the order they appear: SQLite's are positional.
    sql = f'SELECT id, name, active FROM "user" WHERE account_id = {statement.param(viewer.account_id)} AND ('
    if active:
        sql += f"active = {statement.param(True)} OR "
    sql += f"id {statement.is_one_of(sorted(ids))})"
    # The database's collation, as the general path lists members.
    rows = await reader.rows(statement, sql + " ORDER BY name, id")
    return {row["id"]: row for row in rows}


def render_page(rows: list[Row], args: PageArgs, users: dict[int, Row]) -> dict[str, Any]:
    badges = Badges(users)
    edges = []
    for row in rows[: args.size]:
        last_activity_at = as_datetime(row["last_activity_at"])
        cursor = encode_cursor(last_activity_at, row["id"])
        edges.append({"cursor": cursor, "node": _node(row, last_activity_at, badges)})
    return {
        "edges": edges,
        "pageInfo": {
            "hasNextPage": len(rows) > args.size,
            "endCursor": edges[-1]["cursor"] if edges else args.after_text,
        },
    }


class Badges:
    """Each member's `{id name initials}` and `{id name}`, built once per answer."""

    def __init__(self, users: dict[int, Row]):
        self._users = users
        self._badges: dict[int, dict[str, Any]] = {}
        self._authors: dict[int, dict[str, Any]] = {}

    def badge(self, user_id: int | None) -> dict[str, Any] | None:
        if user_id is None or user_id not in self._users:
            return None
        badge = self._badges.get(user_id)
        if badge is None:
            user = self._users[user_id]
            name = user["name"]
            badge = self._badges[user_id] = {"id": str(user_id), "name": name, "initials": initials_of(name)}
        return badge

    def author(self, user_id: int | None) -> dict[str, Any] | None:
        if user_id is None or user_id not in self._users:
            return None
        author = self._authors.get(user_id)
        if author is None:
            author = self._authors[user_id] = {"id": str(user_id), "name": self._users[user_id]["name"]}
        return author


def _node(row: Row, last_activity_at: datetime, badges: Badges) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "status": row["status"],
        "lastActivityAt": last_activity_at.isoformat(),
        "version": row["version"],
        "contact": {"id": str(row["contact_id"]), "phone": row["phone"], "name": row["name"]},
        "assignee": badges.badge(row["assignee_id"]),
        "lastMessage": None if row["last_message_id"] is None else {
            "id": str(row["last_message_id"]),
            "direction": row["direction"],
            "body": row["body"],
            "createdAt": as_datetime(row["message_at"]).isoformat(),
            "author": badges.author(row["author_id"]),
        },
    }


def render_counts(
    viewer: CompiledViewer, status: ConversationStatus, per_assignee: dict[int | None, int], users: dict[int, Row]
) -> dict[str, Any]:
    """As resolvers.inbox.counts_for: every active member, and inactive ones still holding
    conversations, by name then id (`users` comes in that order)."""
    listed = [user for user in users.values() if user["active"] or user["id"] in per_assignee]
    badges = Badges(users)
    return {
        "id": inbox_counts_id(viewer.user_id, status),
        "status": status.value,
        "all": sum(per_assignee.values()),
        "unassigned": per_assignee.get(None, 0),
        "mine": per_assignee.get(viewer.user_id, 0),
        "byAssignee": [{"user": badges.badge(user["id"]), "count": per_assignee.get(user["id"], 0)} for user in listed],
    }


def page_user_ids(rows: list[Row], args: PageArgs) -> set[int]:
    ids = {row[key] for row in rows[: args.size] for key in ("assignee_id", "author_id") if row[key] is not None}
    if args.assignee_id is not None:
        ids.add(args.assignee_id)
    return ids
