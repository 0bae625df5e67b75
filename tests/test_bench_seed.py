"""bench/seed.py: a seeded account agrees with itself (read-path data, histories),
is reproducible from its seed, and its tokens log in."""
from __future__ import annotations

import hashlib
from collections import defaultdict

import pytest
from tortoise import Tortoise

from bench.seed.account import seed_account
from resolvers.auth import authenticate
from server.database import connected

CONVERSATIONS = 300
MEMBERS = 5
MESSAGES_PER_CONVERSATION = 5
SEED = 7

# What the digest compares, per table: the query (rows of one account, by id) and, per
# column, the table whose ids it holds. Ids are shifted to start at 0 in each table, so
# two accounts seeded alike digest alike wherever their ids start.
DIGESTED = {
    "user": ('SELECT id, name, role FROM "user" WHERE account_id = {a} ORDER BY id', ("user", None, None)),
    "contact": ("SELECT id, phone, name, created_at FROM contact WHERE account_id = {a} ORDER BY id",
                ("contact", None, None, None)),
    "conversation": (
        "SELECT id, contact_id, status, assignee_id, last_activity_at, version, created_at, last_message_id"
        " FROM conversation WHERE account_id = {a} ORDER BY id",
        ("conversation", "contact", None, "user", None, None, None, "message")),
    "message": (
        "SELECT id, conversation_id, direction, body, author_id, external_id, created_at"
        " FROM message WHERE account_id = {a} ORDER BY id",
        ("message", "conversation", None, None, "user", None, None)),
    "assignment_event": (
        "SELECT e.id, e.conversation_id, e.actor_id, e.assignee_id, e.previous_assignee_id, e.note, e.created_at"
        " FROM assignment_event e JOIN conversation c ON c.id = e.conversation_id"
        " WHERE c.account_id = {a} ORDER BY e.id",
        ("assignment_event", "conversation", "user", "user", "user", None, None)),
    "status_event": (
        "SELECT e.id, e.conversation_id, e.actor_id, e.status, e.created_at"
        " FROM status_event e JOIN conversation c ON c.id = e.conversation_id WHERE c.account_id = {a} ORDER BY e.id",
        ("status_event", "conversation", "user", None, None)),
}


async def _rows(sql: str) -> list[tuple]:
    _, rows = await Tortoise.get_connection("default").execute_query(sql)
    return [tuple(row) for row in rows]


async def _digest(account_id: int) -> str:
    rows = {table: await _rows(sql.format(a=account_id)) for table, (sql, _) in DIGESTED.items()}
    first_ids = {table: table_rows[0][0] if table_rows else 0 for table, table_rows in rows.items()}
    digest = hashlib.sha256()
    for table, (_, id_columns) in DIGESTED.items():
        for row in rows[table]:
            shifted = [value if points_at is None or value is None else value - first_ids[points_at]
                       for value, points_at in zip(row, id_columns, strict=True)]
            digest.update(repr(shifted).encode())
    return digest.hexdigest()


async def _seed(database_url: str, seed: int = SEED):
    return await seed_account(database_url, CONVERSATIONS, members=MEMBERS, seed=seed,
                              messages_per_conversation=MESSAGES_PER_CONVERSATION, progress=False)


@pytest.fixture(autouse=True)
def cheap_password_hashing(settings):
    """The tests' argon2 cost, as the app fixture applies it: seeding hashes a password."""
    settings.apply_password_hashing()


@pytest.fixture
async def seeded(database_url):
    """A seeded account, the ORM connected to its database (after seeding: seeding
    migrates, and migrating closes the ORM's connections)."""
    result = await _seed(database_url)
    async with connected(database_url):
        yield result


async def test_writes_the_requested_account(seeded):
    a = seeded.account_id
    [(conversations, open_)] = await _rows(
        f"SELECT COUNT(*), SUM(CASE WHEN status = 'OPEN' THEN 1 ELSE 0 END) FROM conversation WHERE account_id = {a}")
    [(messages, contacts)] = await _rows(
        f"SELECT (SELECT COUNT(*) FROM message WHERE account_id = {a}),"
        f" (SELECT COUNT(DISTINCT phone) FROM contact WHERE account_id = {a})")
    assert conversations == contacts == seeded.counts["conversation"] == CONVERSATIONS
    assert messages == seeded.counts["message"]
    assert 2 * CONVERSATIONS <= messages <= 7 * CONVERSATIONS
    assert 0.5 <= open_ / conversations <= 0.7
    assert [seeded.roles[m] for m in seeded.member_ids] == ["ADMIN"] + ["AGENT"] * (MEMBERS - 1)


async def test_last_message_and_activity_are_the_newest_message(seeded):
    wrong = await _rows(
        f"SELECT c.id FROM conversation c WHERE c.account_id = {seeded.account_id} AND ("
        " COALESCE(c.last_message_id, 0) <> (SELECT m.id FROM message m WHERE m.conversation_id = c.id"
        "   ORDER BY m.created_at DESC, m.id DESC LIMIT 1)"
        " OR c.last_activity_at <> (SELECT MAX(m.created_at) FROM message m WHERE m.conversation_id = c.id))"
        )
    assert wrong == []


async def test_inbox_counts_match_the_conversations(seeded):
    a = seeded.account_id
    stored = await _rows(f"SELECT status, assignee_key, count FROM inbox_count WHERE account_id = {a}")
    counted = await _rows(
        f"SELECT status, COALESCE(assignee_id, 0), COUNT(*) FROM conversation WHERE account_id = {a}"
        " GROUP BY status, COALESCE(assignee_id, 0)")
    assert sorted(stored) == sorted(counted)
    unassigned = sum(count for _, key, count in counted if key == 0)
    assert 0.04 <= unassigned / CONVERSATIONS <= 0.16


async def test_histories_end_at_the_current_state(seeded):
    a = seeded.account_id
    events = await _rows(
        "SELECT e.conversation_id, e.assignee_id, e.previous_assignee_id FROM assignment_event e"
        f" JOIN conversation c ON c.id = e.conversation_id WHERE c.account_id = {a}"
        " ORDER BY e.conversation_id, e.created_at, e.id")
    chains: dict[int, list[tuple]] = defaultdict(list)
    for conversation_id, assignee, previous in events:
        chains[conversation_id].append((assignee, previous))
    closings = dict(await _rows(
        "SELECT e.conversation_id, COUNT(*) FROM status_event e JOIN conversation c ON c.id = e.conversation_id"
        f" WHERE c.account_id = {a} GROUP BY e.conversation_id"))
    conversations = await _rows(f"SELECT id, assignee_id, status, version FROM conversation WHERE account_id = {a}")
    for conversation_id, assignee, status, version in conversations:
        chain = chains[conversation_id]
        assert [previous for _, previous in chain] == [None, *(new for new, _ in chain)][:len(chain)]
        assert (chain[-1][0] if chain else None) == assignee
        assert bool(chain) or assignee is None
        assert closings.get(conversation_id, 0) == (status == "CLOSED")
        assert version == 1 + len(chain) + closings.get(conversation_id, 0)


async def test_the_same_seed_gives_the_same_rows(database_url):
    # given two accounts from one seed and one from another, in the same database
    first, again, other = await _seed(database_url), await _seed(database_url), await _seed(database_url, SEED + 1)
    # when
    async with connected(database_url):
        digests = [await _digest(result.account_id) for result in (first, again, other)]
    # then
    assert again.account_id != first.account_id
    assert digests[0] == digests[1] != digests[2]


async def test_tokens_log_members_in(seeded):
    admin, agent = seeded.member_ids[0], seeded.member_ids[1]
    admin_viewer = await authenticate(seeded.tokens[admin])
    agent_viewer = await authenticate(seeded.tokens[agent])
    assert admin_viewer is not None and agent_viewer is not None
    assert (admin_viewer.user.id, admin_viewer.user.role.value) == (admin, "ADMIN")
    assert (agent_viewer.user.id, agent_viewer.account.id) == (agent, seeded.account_id)
