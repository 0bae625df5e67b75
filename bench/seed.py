"""Fill a database with one realistic benchmark account, reproducibly from a seed.

    .venv/bin/python -m bench.seed --database postgres://postgres@127.0.0.1:5432/teaminbox_bench \\
        --create --conversations 100000
    .venv/bin/python -m bench.seed --database sqlite:///tmp/bench.db --conversations 10000

One account (plan TEAM) with `--members` members: the first an ADMIN, the last an ANALYST
from 10 members up, the others AGENTs, all with the password `bench-password` and a
bearer token each. Then `--conversations` contacts with one conversation each: about
`--messages-per-conversation` messages alternating customer/team over the 90 days before
a fixed date, 60% OPEN, ~10% unassigned, assignees Zipf-weighted over the team,
assignment histories ending at the current assignee, a status event per closed
conversation, and the read-path data (conversation.last_message_id, inbox_count).
The same seed gives the same rows; credentials (webhook secret, tokens, password salt)
are random on every run. Ids continue after each table's current maximum, so a database
can hold several seeded accounts.

The schema is the app's (its migrations run first). PostgreSQL is loaded with binary
COPY (asyncpg) in one transaction, SQLite with executemany in one transaction; the
tables are locked meanwhile, so run it against a database nobody is writing to. Prints
a progress bar and timings on stderr, and the result (ids, secret, tokens, counts) as
JSON on stdout."""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import secrets
import sqlite3
import sys
import time
from bisect import bisect_right
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

import aiosqlite
import asyncpg

from bench._progress import ProgressBar
from models.enums import ConversationStatus, MessageDirection, Plan, Role
from resolvers.auth import token_hash
from resolvers.passwords import hash_password
from server.database import migrate

# Fixed, not now(): the same seed must give the same rows whenever it runs.
DATA_ENDS_AT = int(datetime(2026, 11, 24, tzinfo=UTC).timestamp())
HISTORY_SECONDS = 90 * 24 * 3600
SESSIONS_EXPIRE_AT = datetime(2036, 1, 1, tzinfo=UTC)
BENCH_PASSWORD = "bench-password"
BATCH_CONVERSATIONS = 5_000
SQLITE_CACHE_KIB = 512 * 1024
INDEX_BUILD_MEMORY = "256MB"

OPEN_SHARE = 0.6
UNASSIGNED_SHARE = 0.1
# Some unassigned conversations were handed back to the queue: assigned, then unassigned.
RETURNED_TO_QUEUE_SHARE = 0.2
ASSIGNMENTS_PER_ASSIGNED = (1, 1, 1, 2, 2, 3)
SELF_ASSIGN_SHARE = 0.4
# Real teams are uneven: a member's share of conversations falls off like 1/rank^s.
ZIPF_EXPONENT = 0.9
ANALYST_FROM_MEMBERS = 10
REPLY_GAP_SECONDS = (60, 4 * 3600)
CLOSE_AFTER_SECONDS = (60, 6 * 3600)
# Contact phones are +1 415 NXX XXXX with NXX from 200: seven digits after 415.
FIRST_PHONE = 2_000_000
MAX_CONVERSATIONS = 10_000_000 - FIRST_PHONE
MAX_MESSAGES_PER_CONVERSATION = 500

FIRST_NAMES = ("Ana", "Ben", "Chloe", "Dev", "Elena", "Femi", "Grace", "Hiro", "Ines", "Jonas", "Kira",
               "Liam", "Maya", "Noah", "Olga", "Priya", "Quinn", "Rosa", "Sam", "Tariq", "Uma", "Victor",
               "Wen", "Ximena", "Yusuf", "Zoe")
LAST_NAMES = ("Alvarez", "Brown", "Chen", "Dubois", "Evans", "Fischer", "Garcia", "Hughes", "Ito", "Jensen",
              "Kowalski", "Lopez", "Murphy", "Nguyen", "Okafor", "Patel", "Rossi", "Schmidt", "Tanaka",
              "Walsh", "Yilmaz")
CUSTOMER_LINES = (
    "Hi, my kitchen sink is leaking. Can someone come today?", "Do you service water heaters?",
    "What are your weekend hours?", "The technician hasn't arrived yet, is he on his way?",
    "Can I reschedule to Thursday morning?", "How much would a drain cleaning cost?",
    "Thanks, that works for me.", "Is there a charge for the estimate?", "Yes please, go ahead.",
    "The water pressure is very low upstairs.", "Can you send me the invoice again?",
    "Great job yesterday, thank you!", "Do you take credit cards?", "It's started dripping again.",
)
TEAM_LINES = (
    "Thanks for reaching out! We can have someone there between 2 and 4pm.",
    "Yes, we service all major water heater brands.", "We're open 8am-6pm, Saturdays 9am-1pm.",
    "Sorry for the delay, your technician is about 15 minutes away.", "Done, you're booked for Thursday at 9am.",
    "A standard drain cleaning starts at $129.", "Estimates are free.", "Here is your invoice link.",
    "Could you send a photo of the leak?", "Glad we could help! Have a great day.",
    "We accept all major cards and Apple Pay.", "I'll ask the technician to call you right away.",
)
REASSIGNMENT_NOTES = ("", "", "", "Escalating to a manager", "Taking over while they're out",
                      "Billing question", "Customer asked for the same technician")
RETURN_TO_QUEUE_NOTE = "Back to the queue"

OPEN, CLOSED = ConversationStatus.OPEN.value, ConversationStatus.CLOSED.value
INBOUND, OUTBOUND = MessageDirection.INBOUND.value, MessageDirection.OUTBOUND.value

# Load order respects foreign keys, except the conversation <-> message cycle
# (conversation.last_message_id): see the sinks.
COLUMNS: dict[str, tuple[str, ...]] = {
    "account": ("id", "name", "plan", "webhook_secret", "created_at"),
    "user": ("id", "account_id", "email", "name", "role", "password_hash", "active", "created_at"),
    "session": ("id", "user_id", "token_hash", "created_at", "expires_at", "revoked_at"),
    "contact": ("id", "account_id", "phone", "name", "created_at"),
    "conversation": ("id", "account_id", "contact_id", "status", "assignee_id", "last_activity_at",
                     "version", "created_at", "last_message_id"),
    "message": ("id", "account_id", "conversation_id", "direction", "body", "author_id", "external_id",
                "created_at"),
    "assignment_event": ("id", "conversation_id", "actor_id", "assignee_id", "previous_assignee_id",
                         "note", "created_at"),
    "status_event": ("id", "conversation_id", "actor_id", "status", "created_at"),
    "inbox_count": ("id", "account_id", "status", "assignee_key", "count"),
}
BULK_TABLES = ("contact", "conversation", "message", "assignment_event", "status_event")


@dataclass
class SeedResult:
    database_url: str
    account_id: int
    webhook_secret: str
    member_ids: list[int]  # member_ids[0] is the ADMIN
    roles: dict[int, str]  # member id -> ADMIN / AGENT / ANALYST
    tokens: dict[int, str]  # member id -> bearer token (every member)
    password: str  # every member's password
    counts: dict[str, int]  # table -> rows written
    seconds: float


def _at(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


@dataclass
class Team:
    member_ids: list[int]
    roles: dict[int, str]
    assignable: list[int]  # ADMIN and AGENTs: analysts only read
    cum_weights: list[float]


def build_team(rng: random.Random, first_id: int, members: int) -> Team:
    member_ids = list(range(first_id, first_id + members))
    roles = {member_id: Role.AGENT.value for member_id in member_ids}
    roles[member_ids[0]] = Role.ADMIN.value
    if members >= ANALYST_FROM_MEMBERS:
        roles[member_ids[-1]] = Role.ANALYST.value
    assignable = [m for m in member_ids if roles[m] != Role.ANALYST.value]
    # Ranks are shuffled so the busiest member is not always the admin.
    ranks = list(range(1, len(assignable) + 1))
    rng.shuffle(ranks)
    cum_weights, total = [], 0.0
    for rank in ranks:
        total += 1 / rank**ZIPF_EXPONENT
        cum_weights.append(total)
    return Team(member_ids, roles, assignable, cum_weights)


class ConversationFactory:
    """The rows of one conversation after another (contact, conversation, messages,
    history), ids continuing from `next_ids`; tallies what inbox_count must say."""

    def __init__(self, rng: random.Random, account_id: int, team: Team, next_ids: dict[str, int],
                 messages_per_conversation: int):
        self.random = rng.random  # the hot loops use only random() (C), not randint/choice (Python)
        self.account_id = account_id
        self.team = team
        self.next_ids = next_ids
        self.messages = (max(1, messages_per_conversation // 2), messages_per_conversation * 3 // 2)
        self.inbox_counts: Counter[tuple[str, int]] = Counter()

    def batch(self, first_index: int, count: int) -> dict[str, list[tuple]]:
        rows: dict[str, list[tuple]] = {table: [] for table in BULK_TABLES}
        for index in range(first_index, first_index + count):
            self._conversation(index, rows)
        return rows

    def inbox_count_rows(self) -> list[tuple]:
        rows = []
        for (status, assignee_key), count in sorted(self.inbox_counts.items()):
            rows.append((self._take("inbox_count"), self.account_id, status, assignee_key, count))
        return rows

    def _take(self, table: str) -> int:
        value = self.next_ids[table]
        self.next_ids[table] = value + 1
        return value

    def _between(self, low: int, high: int) -> int:
        return low + int(self.random() * (high - low + 1))

    def _pick(self, options: tuple):
        return options[int(self.random() * len(options))]

    def _member(self) -> int:
        weights = self.team.cum_weights
        return self.team.assignable[bisect_right(weights, self.random() * weights[-1], 0, len(weights) - 1)]

    def _conversation(self, index: int, rows: dict[str, list[tuple]]) -> None:
        contact_id, conversation_id = self._take("contact"), self._take("conversation")
        status = OPEN if self.random() < OPEN_SHARE else CLOSED
        assignee = None if self.random() < UNASSIGNED_SHARE else self._member()
        times = self._message_times()
        last_message_id = self._messages(index, conversation_id, assignee, times, rows["message"])
        changes = self._assignments(conversation_id, assignee, times, rows["assignment_event"])
        if status == CLOSED:
            closed_at = times[-1] + self._between(*CLOSE_AFTER_SECONDS)
            actor = assignee or self._member()
            rows["status_event"].append((self._take("status_event"), conversation_id, actor, CLOSED, _at(closed_at)))
            changes += 1
        name = f"{self._pick(FIRST_NAMES)} {self._pick(LAST_NAMES)}"
        started_at, last_at = _at(times[0]), _at(times[-1])
        rows["contact"].append((contact_id, self.account_id, f"+1415{FIRST_PHONE + index}", name, started_at))
        rows["conversation"].append((conversation_id, self.account_id, contact_id, status, assignee, last_at,
                                     1 + changes, started_at, last_message_id))
        self.inbox_counts[(status, assignee or 0)] += 1

    def _message_times(self) -> list[int]:
        """Strictly increasing epoch seconds, placed so a closing event still fits before DATA_ENDS_AT."""
        offsets = [0]
        for _ in range(self._between(*self.messages) - 1):
            offsets.append(offsets[-1] + self._between(*REPLY_GAP_SECONDS))
        latest_start = HISTORY_SECONDS - offsets[-1] - CLOSE_AFTER_SECONDS[1]
        start = DATA_ENDS_AT - HISTORY_SECONDS + self._between(0, max(latest_start, 0))
        return [start + offset for offset in offsets]

    def _messages(self, index: int, conversation_id: int, assignee: int | None, times: list[int],
                  out: list[tuple]) -> int:
        """Customer first, then team and customer in turn; returns the newest message's id."""
        # The hottest loop (10 rows per conversation): helpers inlined.
        random, account_id = self.random, self.account_id
        first_id = self.next_ids["message"]
        self.next_ids["message"] = first_id + len(times)
        for position, timestamp in enumerate(times):
            at = datetime.fromtimestamp(timestamp, UTC)
            if position % 2 == 0:
                external_id = f"SM{index:010d}{position:03d}"  # the provider's id: unique per account
                body = CUSTOMER_LINES[int(random() * len(CUSTOMER_LINES))]
                out.append((first_id + position, account_id, conversation_id, INBOUND, body, None, external_id, at))
            else:
                body = TEAM_LINES[int(random() * len(TEAM_LINES))]
                author = assignee or self._member()
                out.append((first_id + position, account_id, conversation_id, OUTBOUND, body, author, None, at))
        return first_id + len(times) - 1

    def _assignments(self, conversation_id: int, assignee: int | None, times: list[int],
                     out: list[tuple]) -> int:
        """The assignment history, its last assignee the current one; returns its length."""
        if assignee is not None:
            chain = self._handovers(assignee)
        elif self.random() < RETURNED_TO_QUEUE_SHARE:
            chain = [self._member(), None]
        else:
            return 0
        previous = None
        for new, timestamp in zip(chain, sorted(self._between(times[0], times[-1]) for _ in chain)):
            actor = new if new is not None and self.random() < SELF_ASSIGN_SHARE else self._member()
            note = "" if previous is None else RETURN_TO_QUEUE_NOTE if new is None else self._pick(REASSIGNMENT_NOTES)
            out.append((self._take("assignment_event"), conversation_id, actor, new, previous, note, _at(timestamp)))
            previous = new
        return len(chain)

    def _handovers(self, final: int) -> list[int]:
        """1-3 assignees in order, ending with `final`, never the same member twice in a row."""
        length = self._pick(ASSIGNMENTS_PER_ASSIGNED) if len(self.team.assignable) > 1 else 1
        chain = [final]
        while len(chain) < length:
            candidate = self._member()
            if candidate != chain[0]:
                chain.insert(0, candidate)
        return chain


class Sink(Protocol):
    async def next_ids(self) -> dict[str, int]: ...
    async def write(self, table: str, rows: list[tuple]) -> None: ...


class PostgresSink:
    def __init__(self, connection: asyncpg.Connection):
        self.connection = connection

    async def next_ids(self) -> dict[str, int]:
        return {table: await self.connection.fetchval(f'SELECT COALESCE(MAX(id), 0) + 1 FROM "{table}"')
                for table in COLUMNS}

    async def write(self, table: str, rows: list[tuple]) -> None:
        if rows:
            await self.connection.copy_records_to_table(table, records=rows, columns=COLUMNS[table])


class SqliteSink:
    def __init__(self, connection: aiosqlite.Connection):
        self.connection = connection

    async def next_ids(self) -> dict[str, int]:
        ids = {}
        for table in COLUMNS:
            async with self.connection.execute(f'SELECT COALESCE(MAX(id), 0) + 1 FROM "{table}"') as cursor:
                ids[table] = (await cursor.fetchone())[0]
        return ids

    async def write(self, table: str, rows: list[tuple]) -> None:
        columns = COLUMNS[table]
        sql = f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES ({", ".join("?" * len(columns))})'
        await self.connection.executemany(sql, rows)


def _say(progress: bool, text: str) -> None:
    if progress:
        print(text, file=sys.stderr, flush=True)


@asynccontextmanager
async def postgres_sink(database_url: str, progress: bool) -> AsyncIterator[PostgresSink]:
    """One transaction, like pg_restore: the loaded tables lose their secondary indexes
    and foreign keys for the COPY and get them back (same names and definitions) before
    commit. Building an index once from sorted rows beat maintaining it row by row
    (100k conversations: 31-41 s against 38-57 s on a busy 2-core machine), though on a
    database that already holds a lot the rebuild covers those rows too. Re-adding a
    foreign key validates it with one join instead of a trigger per row, and breaks the
    conversation <-> message cycle. The sequences are moved past the ids we chose."""
    tables = ", ".join(f'"{table}"' for table in COLUMNS)
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        async with connection.transaction():
            # Writers wait for us instead of taking ids we are about to use.
            await connection.execute(f"LOCK TABLE {tables} IN SHARE ROW EXCLUSIVE MODE")
            restore = await _drop_secondary_indexes(connection) + await _drop_foreign_keys(connection)
            yield PostgresSink(connection)
            started = time.perf_counter()
            await connection.execute(f"SET LOCAL maintenance_work_mem = '{INDEX_BUILD_MEMORY}'")
            for statement in restore:
                await connection.execute(statement)
            for table in COLUMNS:
                await connection.execute(
                    f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), MAX(id)) FROM \"{table}\"")
            _say(progress, f"indexes and foreign keys rebuilt in {time.perf_counter() - started:.1f}s, committing")
        started = time.perf_counter()
        await connection.execute(f"ANALYZE {tables}")
        _say(progress, f"ANALYZE {time.perf_counter() - started:.1f}s")
    finally:
        await connection.close()


async def _drop_foreign_keys(connection: asyncpg.Connection) -> list[str]:
    """Drops the loaded tables' foreign keys; returns the statements that re-add them."""
    rows = await connection.fetch(
        "SELECT conrelid::regclass::text AS table_name, conname, pg_get_constraintdef(oid) AS definition"
        " FROM pg_constraint WHERE contype = 'f' AND conrelid = ANY($1::regclass[])",
        [f'"{table}"' for table in BULK_TABLES],
    )
    for row in rows:
        await connection.execute(f'ALTER TABLE {row["table_name"]} DROP CONSTRAINT "{row["conname"]}"')
    return [f'ALTER TABLE {row["table_name"]} ADD CONSTRAINT "{row["conname"]}" {row["definition"]}' for row in rows]


async def _drop_secondary_indexes(connection: asyncpg.Connection) -> list[str]:
    """Drops the loaded tables' indexes but the primary keys; returns the statements that rebuild them."""
    rows = await connection.fetch(
        "SELECT i.indrelid::regclass::text AS table_name, i.indexrelid::regclass::text AS index_name,"
        " pg_get_indexdef(i.indexrelid) AS index_definition, c.conname, pg_get_constraintdef(c.oid) AS definition"
        " FROM pg_index i LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid"
        " WHERE i.indrelid = ANY($1::regclass[]) AND NOT i.indisprimary",
        [f'"{table}"' for table in BULK_TABLES],
    )
    restore = []
    for row in rows:
        if row["conname"]:
            await connection.execute(f'ALTER TABLE {row["table_name"]} DROP CONSTRAINT "{row["conname"]}"')
            restore.append(f'ALTER TABLE {row["table_name"]} ADD CONSTRAINT "{row["conname"]}" {row["definition"]}')
        else:
            await connection.execute(f"DROP INDEX {row['index_name']}")
            restore.append(row["index_definition"])
    return restore


@asynccontextmanager
async def sqlite_sink(database_url: str, progress: bool) -> AsyncIterator[SqliteSink]:
    """One transaction, foreign keys checked once before commit. Enforced per row they
    cost a scan per message: message ids are the target of conversation.last_message_id,
    which has no index, and with deferred checks SQLite looks for the referencing rows."""
    async with aiosqlite.connect(sqlite_path(database_url), isolation_level=None) as connection:
        await connection.execute("PRAGMA foreign_keys = OFF")
        # SQLite's default 2 MB page cache spills to disk as soon as the indexes outgrow it.
        await connection.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        await connection.execute("BEGIN IMMEDIATE")
        try:
            yield SqliteSink(connection)
            started = time.perf_counter()
            async with connection.execute("PRAGMA foreign_key_check") as cursor:
                violations = await cursor.fetchmany(5)
            if violations:
                raise RuntimeError(f"seeded rows break foreign keys (table, rowid, parent, fk): {violations}")
        except BaseException:
            await connection.execute("ROLLBACK")
            raise
        await connection.execute("COMMIT")
        await connection.execute("ANALYZE")
        _say(progress, f"foreign key check, commit and ANALYZE {time.perf_counter() - started:.1f}s")


def _tortoise_datetime_text(value: datetime) -> str:
    return value.isoformat(" ")


# The text Tortoise writes for a datetime on SQLite (tortoise/backends/sqlite/executor.py
# registers the same adapter): the app compares these strings, so ours must match.
sqlite3.register_adapter(datetime, _tortoise_datetime_text)


def asyncpg_dsn(database_url: str) -> str:
    """Tortoise's query string (pool sizes, timeouts) is not asyncpg's: drop it."""
    return urlunsplit(urlsplit(database_url)._replace(query=""))


def sqlite_path(database_url: str) -> str:
    """`sqlite:///abs/file.db` or `sqlite://relative.db`, read as Tortoise reads them."""
    parts = urlsplit(database_url)
    return parts.netloc + parts.path


def _validate(conversations: int, members: int, messages_per_conversation: int) -> None:
    if not 0 <= conversations <= MAX_CONVERSATIONS:
        raise ValueError(f"conversations must be 0..{MAX_CONVERSATIONS}")
    if members < 1:
        raise ValueError("members must be at least 1")
    if not 1 <= messages_per_conversation <= MAX_MESSAGES_PER_CONVERSATION:
        raise ValueError(f"messages per conversation must be 1..{MAX_MESSAGES_PER_CONVERSATION}")


async def seed_account(database_url: str, conversations: int, *, members: int = 50, seed: int = 1,
                       messages_per_conversation: int = 10, progress: bool = True) -> SeedResult:
    """Migrate the database, then add one benchmark account (see the module docstring)."""
    _validate(conversations, members, messages_per_conversation)
    started = time.perf_counter()
    await migrate(database_url)
    password_hash = await hash_password(BENCH_PASSWORD)
    rng = random.Random(seed)
    open_sink = postgres_sink if database_url.startswith(("postgres", "asyncpg")) else sqlite_sink
    async with open_sink(database_url, progress) as sink:
        next_ids = await sink.next_ids()
        team = build_team(rng, next_ids["user"], members)
        result = await _write_team(sink, rng, next_ids, team, database_url, password_hash)
        factory = ConversationFactory(rng, result.account_id, team, next_ids, messages_per_conversation)
        await _write_conversations(sink, factory, conversations, result.counts, progress)
        inbox_counts = factory.inbox_count_rows()
        await sink.write("inbox_count", inbox_counts)
        result.counts["inbox_count"] = len(inbox_counts)
    result.seconds = round(time.perf_counter() - started, 2)
    return result


async def _write_conversations(sink: Sink, factory: ConversationFactory, conversations: int,
                               counts: dict[str, int], progress: bool) -> None:
    """Batch after batch; the next batch is generated in a thread while the database
    takes the current one (the GIL is free while we wait on it), so Python and the
    database work at the same time. One batch at a time in the factory keeps it
    deterministic."""
    bar = ProgressBar(conversations, "conversations", enabled=progress)
    starts = list(range(0, conversations, BATCH_CONVERSATIONS))

    def generate(first_index: int) -> dict[str, list[tuple]]:
        return factory.batch(first_index, min(BATCH_CONVERSATIONS, conversations - first_index))

    def start(first_index: int | None) -> asyncio.Task | None:
        return None if first_index is None else asyncio.create_task(asyncio.to_thread(generate, first_index))

    following = iter(starts[1:])
    generating = start(starts[0] if starts else None)
    while generating is not None:
        batch = await generating  # only now is the factory free for the next batch
        generating = start(next(following, None))
        for table, rows in batch.items():
            await sink.write(table, rows)
            counts[table] = counts.get(table, 0) + len(rows)
        bar.advance(len(batch["conversation"]))
    bar.finish()


async def _write_team(sink: Sink, rng: random.Random, next_ids: dict[str, int], team: Team, database_url: str,
                      password_hash: str) -> SeedResult:
    """The account, its members and a session (bearer token) per member."""
    account_id, first_session, members = next_ids["account"], next_ids["session"], len(team.member_ids)
    created_at = _at(DATA_ENDS_AT - HISTORY_SECONDS)
    webhook_secret = secrets.token_urlsafe(32)
    users = [(member_id, account_id, f"member{position}.{account_id}@bench.teaminbox.dev",
              f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}", team.roles[member_id], password_hash, True,
              created_at) for position, member_id in enumerate(team.member_ids)]
    tokens = {member_id: secrets.token_urlsafe(32) for member_id in team.member_ids}
    sessions = [(first_session + offset, member_id, token_hash(token), created_at, SESSIONS_EXPIRE_AT, None)
                for offset, (member_id, token) in enumerate(tokens.items())]
    await sink.write("account", [(account_id, f"Bench account {account_id}", Plan.TEAM.value, webhook_secret,
                                  created_at)])
    await sink.write("user", users)
    await sink.write("session", sessions)
    for table, used in (("account", 1), ("user", members), ("session", members)):
        next_ids[table] += used
    return SeedResult(database_url=database_url, account_id=account_id, webhook_secret=webhook_secret,
                      member_ids=team.member_ids, roles=team.roles, tokens=tokens, password=BENCH_PASSWORD,
                      counts={"account": 1, "user": members, "session": members}, seconds=0.0)


async def create_database(database_url: str, *, fresh: bool) -> None:
    """Create the PostgreSQL database named in the URL if it is missing (`fresh`: drop it first)."""
    parts = urlsplit(asyncpg_dsn(database_url))
    name = parts.path.lstrip("/")
    connection = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")))
    try:
        if fresh:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.seed", description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True,
                        help="postgres://user@host:5432/dbname or sqlite:///path/file.db")
    parser.add_argument("--conversations", type=int, required=True)
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--messages-per-conversation", type=int, default=10)
    parser.add_argument("--create", action="store_true", help="PostgreSQL: create the database if missing")
    parser.add_argument("--fresh", action="store_true", help="PostgreSQL: drop and recreate the database")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or timings on stderr")
    return parser


def main(argv: list[str] | None = None) -> int:
    from server.settings import Settings

    args = _parser().parse_args(argv)
    Settings.from_env().apply_password_hashing()
    if args.create or args.fresh:
        if not args.database.startswith(("postgres", "asyncpg")):
            _parser().error("--create and --fresh are for PostgreSQL (SQLite creates the file itself)")
        asyncio.run(create_database(args.database, fresh=args.fresh))
    result = asyncio.run(seed_account(
        args.database, args.conversations, members=args.members, seed=args.seed,
        messages_per_conversation=args.messages_per_conversation, progress=not args.quiet,
    ))
    _say(not args.quiet, f"seeded account {result.account_id} in {result.seconds:.1f}s: "
         + ", ".join(f"{table} {count:,}" for table, count in result.counts.items()))
    print(json.dumps(asdict(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
