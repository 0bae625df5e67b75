"""Inbox HTTP benchmarks: teaminbox, a raw Starlette + asyncpg server and PostGraphile 5, alternating.

`python -m bench.inbox [--quick]` runs bench/inbox/measure.py, prints the targets table and
writes the details to bench/INBOX.md."""
from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bench.common.paths import BENCH
from bench.common.targets import markdown
from bench.inbox.measure import DEFAULT_PREFIX, DEFAULT_REDIS, measure


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.inbox",
        description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k and 100k, 1 round x 5 s")
    parser.add_argument("--scales", default=None, help="conversations per database, e.g. 10000,100000,1000000")
    parser.add_argument("--database-prefix", default=DEFAULT_PREFIX,
                        help="PostgreSQL URL without the scale suffix (databases <prefix>_10k, _100k, _1m)")
    parser.add_argument("--redis", default=DEFAULT_REDIS, help="teaminbox's bus and the raw baseline's PUBLISH")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=None, help="timed seconds per target per round")
    parser.add_argument("--warmup", type=float, default=None, help="warm-up seconds before each timed run")
    parser.add_argument("--pool", type=int, default=10, help="database connections per server (all three)")
    parser.add_argument("--output", default=str(BENCH / "INBOX.md"))
    args = parser.parse_args(argv)
    scales = tuple(int(s) for s in args.scales.split(",")) if args.scales else None
    rows = asyncio.run(measure(
        args.quick, scales=scales, database_prefix=args.database_prefix, redis_url=args.redis, rounds=args.rounds,
        seconds=args.seconds, warmup=args.warmup, pool=args.pool, output=Path(args.output) if args.output else None,
        command="python -m bench.inbox " + " ".join(argv if argv is not None else sys.argv[1:]),
    ))
    print()
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
