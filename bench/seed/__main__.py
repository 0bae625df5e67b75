"""Fill a database with one realistic benchmark account, reproducibly from a seed.

`python -m bench.seed --database URL --conversations N [--members 50] [--seed 1] [--create|--fresh]`;
what it writes: bench/seed/__init__.py."""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict

from bench.common.postgres import create_database
from bench.common.progress import say
from bench.seed.account import seed_account


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
    say(not args.quiet, f"seeded account {result.account_id} in {result.seconds:.1f}s: "
        + ", ".join(f"{table} {count:,}" for table, count in result.counts.items()))
    print(json.dumps(asdict(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
