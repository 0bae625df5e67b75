"""The PostgreSQL databases of bench.inbox: one per scale, seeded once by bench.seed and
reused while the seed parameters match (they are kept as JSON in the database's
COMMENT), migrated with `teaminbox migrate` on every run, and fresh bearer tokens for the
members (a session row each, as a login would make: the seed's own tokens are only printed
once). Also the table statistics that show how many rows a request reads."""
from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

from bench.common.postgres import beside, connected, create_database, database_name
from bench.common.process import cli
from bench.common.servers import teaminbox_env

SEED_PARAMETERS = {"members": 50, "seed": 1, "messages_per_conversation": 10}
_MARK = "bench.inbox"


@dataclass
class BenchAccount:
    database_url: str
    conversations: int
    account_id: int
    roles: dict[int, str]  # member id -> ADMIN / AGENT / ANALYST
    tokens: dict[int, str]  # member id -> bearer token

    @property
    def writers(self) -> list[int]:
        return [member for member, role in self.roles.items() if role != "ANALYST"]


def scale_url(prefix: str, conversations: int) -> str:
    """`postgres://…/teaminbox_bench_inbox` + 100000 -> `postgres://…/teaminbox_bench_inbox_100k`."""
    label = f"{conversations // 1_000_000}m" if conversations % 1_000_000 == 0 else (
        f"{conversations // 1000}k" if conversations % 1000 == 0 else str(conversations))
    parts = urlsplit(prefix)
    return urlunsplit(parts._replace(path=f"{parts.path}_{label}"))


async def _recorded(database_url: str) -> tuple[bool, dict | None]:
    """(the database exists, what bench.inbox recorded in its comment)."""
    async with connected(beside(database_url, "postgres")) as admin:
        row = await admin.fetchrow(
            "SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1",
            database_name(database_url))
    if row is None:
        return False, None
    try:
        return True, (json.loads(row["comment"] or "") or {}).get(_MARK)
    except (ValueError, AttributeError):
        return True, None


async def _holds_accounts(database_url: str) -> bool:
    async with connected(database_url) as connection:
        if not await connection.fetchval("SELECT to_regclass('public.account') IS NOT NULL"):
            return False
        return bool(await connection.fetchval("SELECT EXISTS (SELECT 1 FROM account)"))


async def ensure_seeded(database_url: str, conversations: int, *, log=print) -> BenchAccount:
    """The benchmark account of this database. A database bench.inbox seeded with other
    parameters is dropped and seeded again; one it did not seed is only used when it
    holds no account (e.g. an interrupted seed, which rolls back), else refused."""
    from bench.seed.account import seed_account  # the app's models and migrations: only when seeding

    wanted = {"conversations": conversations, **SEED_PARAMETERS}
    exists, recorded = await _recorded(database_url)
    if exists and recorded is None and await _holds_accounts(database_url):
        raise SystemExit(f"database {database_name(database_url)} exists and was not seeded by bench.inbox: "
                         "drop it or pick another --database-prefix")
    if recorded is None or recorded.get("parameters") != wanted:
        log(f"seeding {database_name(database_url)}: {conversations:,} conversations (bench.seed, once) …")
        await create_database(database_url, fresh=True)
        result = await seed_account(database_url, conversations, progress=True, **SEED_PARAMETERS)
        recorded = {"parameters": wanted, "account_id": result.account_id,
                    "roles": {str(k): v for k, v in result.roles.items()}, "seeded_in_s": result.seconds}
        async with connected(database_url) as connection:
            literal = json.dumps({_MARK: recorded}).replace("'", "''")
            await connection.execute(f'COMMENT ON DATABASE "{database_name(database_url)}" IS \'{literal}\'')
    await cli(teaminbox_env(database_url), "migrate")  # a no-op unless the app gained a migration
    roles = {int(k): v for k, v in recorded["roles"].items()}
    tokens = await _mint_tokens(database_url, roles)
    await _vacuum(database_url)
    return BenchAccount(database_url, conversations, recorded["account_id"], roles, tokens)


async def _vacuum(database_url: str) -> None:
    """Earlier runs' assignment benchmarks leave tens of thousands of dead conversation
    rows that autovacuum may not have reached: every run starts from a vacuumed database,
    or the page reads of one scale would be slowed by another run's leftovers."""
    async with connected(database_url) as connection:
        await connection.execute("VACUUM ANALYZE")


async def _mint_tokens(database_url: str, roles: dict[int, str]) -> dict[int, str]:
    tokens = {member: secrets.token_urlsafe(32) for member in roles}
    now = datetime.now(UTC)
    async with connected(database_url) as connection:
        # Earlier runs' tokens (expiring within a day, unlike the seed's): every run then
        # reads a session table of the same size.
        await connection.execute("DELETE FROM session WHERE user_id = ANY($1::int[]) AND expires_at < $2",
                                 list(roles), now + timedelta(days=2))
        await connection.executemany(
            "INSERT INTO session (user_id, token_hash, created_at, expires_at, revoked_at)"
            " VALUES ($1, $2, $3, $4, NULL)",
            [(member, hashlib.sha256(token.encode()).hexdigest(), now, now + timedelta(days=1))
             for member, token in tokens.items()])
    return tokens


async def busiest_assignee(database_url: str, account_id: int, status: str = "OPEN") -> tuple[int, int]:
    """(member id, count) of the member holding the most conversations under `status`."""
    async with connected(database_url) as connection:
        row = await connection.fetchrow(
            "SELECT assignee_key, count FROM inbox_count WHERE account_id = $1 AND status = $2 AND assignee_key <> 0"
            " ORDER BY count DESC, assignee_key LIMIT 1", account_id, status)
    if row is None:
        raise RuntimeError(f"account {account_id} has no assigned {status} conversations")
    return row["assignee_key"], row["count"]


async def open_conversations(database_url: str, account_id: int, limit: int) -> list[int]:
    async with connected(database_url) as connection:
        rows = await connection.fetch(
            "SELECT id FROM conversation WHERE account_id = $1 AND status = 'OPEN' ORDER BY id LIMIT $2",
            account_id, limit)
    return [row["id"] for row in rows]


async def current_owners(database_url: str, conversations: list[int]) -> dict[int, int | None]:
    async with connected(database_url) as connection:
        rows = await connection.fetch("SELECT id, assignee_id FROM conversation WHERE id = ANY($1::int[])",
                                      conversations)
    owners = {row["id"]: row["assignee_id"] for row in rows}
    return {conversation: owners[conversation] for conversation in conversations}


async def table_stats(database_url: str) -> dict[str, int]:
    """Cumulative scans, rows read, inserted and updated in this database's tables, and
    rows read from `conversation` (pg_stat_user_tables; settle_stats() first)."""
    async with connected(database_url) as connection:
        await connection.execute("SELECT pg_stat_clear_snapshot()")
        row = await connection.fetchrow(
            "SELECT COALESCE(SUM(seq_scan + COALESCE(idx_scan, 0)), 0)::bigint AS scans,"
            " COALESCE(SUM(seq_tup_read + COALESCE(idx_tup_fetch, 0)), 0)::bigint AS rows,"
            " COALESCE(SUM(n_tup_ins), 0)::bigint AS inserts, COALESCE(SUM(n_tup_upd), 0)::bigint AS updates,"
            " COALESCE(SUM(seq_tup_read + COALESCE(idx_tup_fetch, 0)) FILTER (WHERE relname = 'conversation'), 0)"
            "::bigint AS conversation_rows"
            " FROM pg_stat_user_tables")
    if row is None:  # an aggregate without GROUP BY always has its row
        raise RuntimeError("pg_stat_user_tables answered no row")
    return dict(row)


async def counters_consistent(database_url: str, account_id: int) -> bool:
    """inbox_count agrees with the conversations it counts (one full GROUP BY: checks only)."""
    async with connected(database_url) as connection:
        wrong = await connection.fetchval(
            "SELECT count(*) FROM (SELECT status, COALESCE(assignee_id, 0) AS key, count(*) AS n FROM conversation"
            " WHERE account_id = $1 GROUP BY 1, 2) AS truth FULL JOIN (SELECT status, assignee_key AS key, count AS n"
            " FROM inbox_count WHERE account_id = $1 AND count <> 0) AS kept USING (status, key)"
            " WHERE truth.n IS DISTINCT FROM kept.n", account_id)
    return wrong == 0


STATS_SETTLE_SECONDS = 11.0


async def settle_stats() -> None:
    """An idle backend reports its table statistics at once, unless it reported less
    than a second ago: then after 10 s (PostgreSQL 15's PGSTAT_IDLE_INTERVAL)."""
    await asyncio.sleep(STATS_SETTLE_SECONDS)
