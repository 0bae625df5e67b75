"""The raw HTTP baseline of bench.inbox: Starlette + an asyncpg pool + orjson, under uvicorn
configured as `teaminbox serve` is (httptools + uvloop when installed, log level info with
the access log), answering with exactly teaminbox's JSON for the same request.

It ignores the GraphQL document and reads only the variables, so it is the practical
limit for a Python server doing the same SQL work: one session lookup per request, as
teaminbox's authentication does, then hand-written SQL on one pooled connection.

- `POST /graphql`: the InboxView document (an inbox page for `filter.assigneeId` + the
  counts); `POST /graphql/counts`: InboxCounts only.
- `POST /graphql/assign` (`/graphql/assign-nolock`): AssignConversation without an
  expected assignee, as resolvers/assignment.py writes it, in one transaction: the
  conversation's row lock (FOR NO KEY UPDATE), the conversation update, the inbox_count
  upsert (rows in key order), the assignment_event row, the new assignee's notification
  (not when assigning to oneself), then the account's advisory lock (not taken by
  -nolock) and the event rows (`conversation.assigned`, `notification.created`) in one
  INSERT; then one Redis PUBLISH of the events on the account channel.

`python -m bench.inbox.baseline_http --port P --database postgres://… [--redis redis://…] [--pool 10]`"""
from __future__ import annotations

import argparse
import base64
import hashlib
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import asyncpg
import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from resolvers.members import initials_of  # pure function: the badge letters teaminbox shows

if TYPE_CHECKING:
    import redis.asyncio as aioredis

_AUTH = (
    'SELECT s.user_id, s.expires_at, s.revoked_at, u.active, u.account_id, u.role, a.plan '
    'FROM session s JOIN "user" u ON u.id = s.user_id JOIN account a ON a.id = u.account_id WHERE s.token_hash = $1'
)
_PAGE = (
    "SELECT c.id, c.status, c.last_activity_at, c.version, ct.id, ct.phone, ct.name, u.id, u.name,"
    ' m.id, m.direction, m.body, m.created_at, au.id, au.name'
    " FROM conversation c JOIN contact ct ON ct.id = c.contact_id"
    ' LEFT JOIN "user" u ON u.id = c.assignee_id'
    " LEFT JOIN message m ON m.id = c.last_message_id"
    ' LEFT JOIN "user" au ON au.id = m.author_id'
    " WHERE c.account_id = $1 AND c.status = $2 AND c.assignee_id = $3"
    " ORDER BY c.last_activity_at DESC, c.id DESC LIMIT $4"
)
_COUNTS = "SELECT assignee_key, count FROM inbox_count WHERE account_id = $1 AND status = $2 AND count <> 0"
_MEMBERS = 'SELECT id, name FROM "user" WHERE account_id = $1 AND (active OR id = ANY($2::int[])) ORDER BY name, id'
_ASSIGNEE = 'SELECT id, name, active FROM "user" WHERE id = $1 AND account_id = $2'
_LOCK_ROW = (
    "SELECT assignee_id, status, version, last_activity_at FROM conversation"
    " WHERE id = $1 AND account_id = $2 FOR NO KEY UPDATE"
)
_UPDATE = "UPDATE conversation SET assignee_id = $2, version = version + 1 WHERE id = $1 RETURNING version"
_MOVE_COUNT = (  # rows in key order, as resolvers/counts.py writes them
    "INSERT INTO inbox_count (account_id, status, assignee_key, count) VALUES ($1, $2, $3, $4), ($1, $2, $5, $6)"
    " ON CONFLICT (account_id, status, assignee_key) DO UPDATE SET count = inbox_count.count + excluded.count"
)
_HISTORY = (
    "INSERT INTO assignment_event (conversation_id, actor_id, assignee_id, previous_assignee_id, note, created_at)"
    " VALUES ($1, $2, $3, $4, '', $5) RETURNING id"
)
_EVENT_COLUMNS = "INSERT INTO event (account_id, kind, conversation_id, user_id, payload, created_at) VALUES "
_EVENTS = {  # one or two events, in one statement (as resolvers/outbox.py flushes them)
    1: _EVENT_COLUMNS + "($1, $2, $3, $4, $5, $6) RETURNING seq",
    2: _EVENT_COLUMNS + "($1, $2, $3, $4, $5, $6), ($1, $7, $8, $9, $10, $6) RETURNING seq",
}
_NOTIFY = (
    "INSERT INTO notification (user_id, kind, conversation_id, message_id, actor_id, created_at, read_at)"
    " VALUES ($1, 'ASSIGNED', $2, NULL, $3, $4, NULL) RETURNING id"
)
_WRITERS = ("ADMIN", "AGENT")
_TEAM_PLANS = ("TEAM", "ENTERPRISE")


def _json(data: object) -> Response:
    return Response(orjson.dumps(data), media_type="application/json")


def _error(code: str, message: str) -> Response:
    return _json({"data": None, "errors": [{"message": message, "extensions": {"code": code}}]})


def _cursor(moment: datetime, row_id: int) -> str:  # as schema/pagination.py encode_cursor
    return base64.urlsafe_b64encode(orjson.dumps([moment.isoformat(), row_id])).decode()


def _user(user_id: int | None, name: str | None) -> dict | None:
    return None if user_id is None else {"id": str(user_id), "name": name, "initials": initials_of(name)}


class Baseline:
    def __init__(self, database_url: str, redis_url: str | None, namespace: str, pool_size: int):
        self.database_url, self.redis_url = database_url, redis_url
        self.namespace, self.pool_size = namespace, pool_size
        self._pool: asyncpg.Pool | None = None
        self.redis: aioredis.Redis | None = None

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("the pool exists only while the app runs (lifespan)")
        return self._pool

    @asynccontextmanager
    async def lifespan(self, app):
        self._pool = await asyncpg.create_pool(self.database_url, min_size=self.pool_size, max_size=self.pool_size)
        if self.redis_url:
            import redis.asyncio as aioredis

            self.redis = aioredis.Redis.from_url(self.redis_url)
        try:
            yield
        finally:
            await self._pool.close()
            if self.redis is not None:
                await self.redis.aclose()

    async def _viewer(self, connection, request: Request):
        """(user_id, account_id, role) for a valid bearer token, as resolvers/auth.py decides."""
        scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        row = await connection.fetchrow(_AUTH, hashlib.sha256(token.strip().encode()).hexdigest())
        if row is None or row["revoked_at"] is not None or row["expires_at"] <= datetime.now(UTC):
            return None
        if not row["active"] or row["plan"] not in _TEAM_PLANS:
            return None
        return row["user_id"], row["account_id"], row["role"]

    async def _counts(self, connection, account_id: int, user_id: int, status: str) -> dict:
        per_assignee = {key: count for key, count in await connection.fetch(_COUNTS, account_id, status)}
        members = await connection.fetch(_MEMBERS, account_id, [key for key in per_assignee if key])
        return {
            "id": f"{user_id}:{status}",  # the counts' cache identity, as schema/identities.py makes it
            "status": status,
            "all": sum(per_assignee.values()),
            "unassigned": per_assignee.get(0, 0),
            "mine": per_assignee.get(user_id, 0),
            "byAssignee": [{"user": _user(member_id, name), "count": per_assignee.get(member_id, 0)}
                           for member_id, name in members],
        }

    async def inbox_view(self, request: Request) -> Response:
        variables = orjson.loads(await request.body()).get("variables") or {}
        inbox_filter = variables.get("filter") or {}
        size = min(int(variables.get("first") or 50), 100)
        async with self.pool.acquire() as connection:
            viewer = await self._viewer(connection, request)
            if viewer is None:
                return _error("UNAUTHENTICATED", "Log in first")
            user_id, account_id, _ = viewer
            rows = await connection.fetch(_PAGE, account_id, inbox_filter.get("status", "OPEN"),
                                          int(inbox_filter["assigneeId"]), size + 1)
            counts = await self._counts(connection, account_id, user_id, variables.get("status", "OPEN"))
        edges = []
        for row in rows[:size]:
            (cid, status, last_activity_at, version, contact_id, phone, contact_name, assignee_id, assignee_name,
             message_id, direction, body, created_at, author_id, author_name) = row
            edges.append({"cursor": _cursor(last_activity_at, cid), "node": {
                "id": str(cid), "status": status, "lastActivityAt": last_activity_at, "version": version,
                "contact": {"id": str(contact_id), "phone": phone, "name": contact_name},
                "assignee": _user(assignee_id, assignee_name),
                "lastMessage": None if message_id is None else {
                    "id": str(message_id), "direction": direction, "body": body, "createdAt": created_at,
                    "author": None if author_id is None else {"id": str(author_id), "name": author_name},
                },
            }})
        page_info = {"hasNextPage": len(rows) > size, "endCursor": edges[-1]["cursor"] if edges else None}
        return _json({"data": {"inbox": {"edges": edges, "pageInfo": page_info}, "inboxCounts": counts}})

    async def inbox_counts(self, request: Request) -> Response:
        variables = orjson.loads(await request.body()).get("variables") or {}
        async with self.pool.acquire() as connection:
            viewer = await self._viewer(connection, request)
            if viewer is None:
                return _error("UNAUTHENTICATED", "Log in first")
            counts = await self._counts(connection, viewer[1], viewer[0], variables.get("status", "OPEN"))
        return _json({"data": {"inboxCounts": counts}})

    async def assign(self, request: Request) -> Response:
        return await self._assign(request, lock=True)

    async def assign_nolock(self, request: Request) -> Response:
        return await self._assign(request, lock=False)

    async def _assign(self, request: Request, *, lock: bool) -> Response:
        variables = orjson.loads(await request.body()).get("variables") or {}
        conversation_id, new_id = int(variables["conversationId"]), int(variables["assigneeId"])
        events: list[tuple[str, dict, int | None, int | None]] = []  # kind, payload, conversation, user
        published: list[dict] = []
        async with self.pool.acquire() as connection:
            viewer = await self._viewer(connection, request)
            if viewer is None:
                return _error("UNAUTHENTICATED", "Log in first")
            actor_id, account_id, role = viewer
            if role not in _WRITERS:
                return _error("FORBIDDEN", "Read-only member")
            assignee = await connection.fetchrow(_ASSIGNEE, new_id, account_id)
            if assignee is None or not assignee["active"]:
                return _error("NOT_FOUND", "No such member")
            async with connection.transaction():
                current = await connection.fetchrow(_LOCK_ROW, conversation_id, account_id)
                if current is None:
                    return _error("NOT_FOUND", "No such conversation")
                previous_id, status, version, last_activity_at = current
                if previous_id != new_id:
                    version = await connection.fetchval(_UPDATE, conversation_id, new_id)
                    now = datetime.now(UTC)
                    moves = sorted([(previous_id or 0, -1), (new_id, 1)])
                    await connection.execute(_MOVE_COUNT, account_id, status, *moves[0], *moves[1])
                    history_id = await connection.fetchval(_HISTORY, conversation_id, actor_id, new_id, previous_id,
                                                           now)
                    payload = {"conversation_id": conversation_id, "assignee_id": new_id, "status": status,
                               "version": version, "last_activity_at": last_activity_at.isoformat(),
                               "previous_assignee_id": previous_id, "actor_id": actor_id,
                               "assignment_event_id": history_id}
                    events.append(("conversation.assigned", payload, conversation_id, None))
                    if new_id != actor_id:
                        notification_id = await connection.fetchval(_NOTIFY, new_id, conversation_id, actor_id, now)
                        payload = {"notification_id": notification_id, "kind": "ASSIGNED",
                                   "conversation_id": conversation_id}
                        events.append(("notification.created", payload, None, new_id))
                    if lock:
                        await connection.execute("SELECT pg_advisory_xact_lock($1)", account_id)
                    published = await self._insert_events(connection, account_id, events, now)
        if published and self.redis is not None:
            await self.redis.publish(f"{self.namespace}:account:{account_id}", orjson.dumps(published))
        return _json({"data": {"assignConversation": {
            "conversation": {"id": str(conversation_id), "version": version,
                             "assignee": _user(new_id, assignee["name"])},
            "userErrors": [],
        }}})

    @staticmethod
    async def _insert_events(connection, account_id, events, now) -> list[dict]:
        params = [account_id]
        for position, (kind, payload, conversation_id, user_id) in enumerate(events):
            params += [kind, conversation_id, user_id, orjson.dumps(payload).decode()]
            if position == 0:
                params.append(now)
        seqs = sorted(row["seq"] for row in await connection.fetch(_EVENTS[len(events)], *params))
        return [{"seq": seq, "kind": kind, "account_id": account_id, "conversation_id": conversation_id,
                 "user_id": user_id, "payload": payload}
                for seq, (kind, payload, conversation_id, user_id) in zip(seqs, events, strict=True)]


async def healthz(request: Request) -> Response:
    return Response("ok")


def create_app(baseline: Baseline) -> Starlette:
    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/graphql", baseline.inbox_view, methods=["POST"]),
            Route("/graphql/counts", baseline.inbox_counts, methods=["POST"]),
            Route("/graphql/assign", baseline.assign, methods=["POST"]),
            Route("/graphql/assign-nolock", baseline.assign_nolock, methods=["POST"]),
        ],
        lifespan=baseline.lifespan,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database", required=True, help="postgres://… (asyncpg)")
    parser.add_argument("--redis", default=None, help="redis://… for the assignment's PUBLISH")
    parser.add_argument("--namespace", default="teaminbox", help="channel prefix, as TEAMINBOX_NAMESPACE")
    parser.add_argument("--pool", type=int, default=10)
    args = parser.parse_args()
    baseline = Baseline(args.database, args.redis, args.namespace, args.pool)
    uvicorn.run(create_app(baseline), host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()
