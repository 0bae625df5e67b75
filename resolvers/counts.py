"""The inbox_count counters: moved in the same transaction as the change they count.

A conversation is counted under (status, assignee). Each write that creates a
conversation or changes its status or assignee moves it from one counter to another
with one upsert; the counts beside the inbox tabs then cost one indexed read whatever
the number of conversations. Writers pass the conversation's state as read inside their
transaction under its row lock (SELECT ... FOR NO KEY UPDATE on PostgreSQL; SQLite
serialises writers), so concurrent changes of one conversation queue up and never
miscount."""
from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient

from models import ConversationStatus
from resolvers.sql import placeholder, values_rows

# (status, assignee id or None for unassigned)
Placement = tuple[ConversationStatus, int | None]

UNASSIGNED_KEY = 0


def assignee_key(assignee_id: int | None) -> int:
    return UNASSIGNED_KEY if assignee_id is None else assignee_id


async def move_conversation(
    connection: BaseDBAsyncClient, account_id: int, before: Placement | None, after: Placement | None
) -> None:
    """Count a conversation under `after` instead of `before` (None: not counted, as
    before it exists)."""
    if before == after:
        return
    # Rows in key order: two writers moving conversations in opposite directions between
    # the same two counters lock them in the same order (no deadlock on PostgreSQL).
    deltas = sorted(
        ((placement, step) for placement, step in ((before, -1), (after, 1)) if placement is not None),
        key=lambda delta: (delta[0][0].value, assignee_key(delta[0][1])),
    )
    values, params = values_rows(connection, [
        (account_id, status.value, assignee_key(assignee_id), step) for (status, assignee_id), step in deltas
    ])
    await connection.execute_query(
        "INSERT INTO inbox_count (account_id, status, assignee_key, count) VALUES " + values
        + " ON CONFLICT (account_id, status, assignee_key) DO UPDATE SET count = inbox_count.count + excluded.count",
        params,
    )


async def counts_by_assignee(
    connection: BaseDBAsyncClient, account_id: int, status: ConversationStatus
) -> dict[int | None, int]:
    """Conversations per assignee (None: unassigned) under one status; zeros left out."""
    rows = await connection.execute_query_dict(
        "SELECT assignee_key, count FROM inbox_count"
        f" WHERE account_id = {placeholder(connection, 0)} AND status = {placeholder(connection, 1)} AND count <> 0",
        [account_id, status.value],
    )
    return {(None if row["assignee_key"] == UNASSIGNED_KEY else row["assignee_key"]): row["count"] for row in rows}
