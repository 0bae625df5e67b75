"""`seed_account`: migrate a database, then add one benchmark account (what it holds:
bench/seed/__init__.py)."""
from __future__ import annotations

import asyncio
import random
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from bench.common.progress import ProgressBar
from bench.seed.generator import (
    DATA_ENDS_AT,
    FIRST_NAMES,
    HISTORY_SECONDS,
    LAST_NAMES,
    MAX_CONVERSATIONS,
    MAX_MESSAGES_PER_CONVERSATION,
    ConversationFactory,
    Team,
    at,
    build_team,
)
from bench.seed.sinks import Sink, postgres_sink, sqlite_sink
from models.enums import Plan
from resolvers.auth import token_hash
from resolvers.passwords import hash_password
from server.database import migrate

SESSIONS_EXPIRE_AT = datetime(2036, 1, 1, tzinfo=UTC)
# The tokens' last use: a seeded database serves benchmarks for as long as its tokens
# last, however long ago it was seeded (no idle timeout ends them).
SESSIONS_LAST_USED_AT = SESSIONS_EXPIRE_AT
BENCH_PASSWORD = "bench-password"
BATCH_CONVERSATIONS = 5_000


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
    created_at = at(DATA_ENDS_AT - HISTORY_SECONDS)
    webhook_secret = secrets.token_urlsafe(32)
    users = [(member_id, account_id, f"member{position}.{account_id}@bench.teaminbox.dev",
              f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}", team.roles[member_id], password_hash, True,
              created_at) for position, member_id in enumerate(team.member_ids)]
    tokens = {member_id: secrets.token_urlsafe(32) for member_id in team.member_ids}
    sessions = [(first_session + offset, member_id, token_hash(token), created_at, SESSIONS_EXPIRE_AT, None,
                 SESSIONS_LAST_USED_AT)
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
