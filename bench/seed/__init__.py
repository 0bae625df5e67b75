"""bench.seed: fill a database with one realistic benchmark account, reproducibly from a seed.

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
JSON on stdout.

The parts: `generator` (the rows, from the seed), `sinks` (PostgreSQL and SQLite writers),
`account` (`seed_account`, the entry point for code) and `__main__` (the command)."""
