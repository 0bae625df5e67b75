"""The realtime targets of issue 5, each next to a baseline measured in the same run.

`python -m bench.realtime [--quick]` runs bench/realtime/measure.py, prints the targets
table and writes the details to bench/REALTIME.md."""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from bench.common.targets import markdown
from bench.realtime.common import BACKENDS, DEFAULT_POSTGRES
from bench.realtime.measure import DEFAULT_OUTPUT, measure


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.realtime", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter windows, one round per target")
    parser.add_argument("--backends", help="comma-separated: sqlite,postgres (default both; quick: sqlite)")
    parser.add_argument("--postgres", default=os.environ.get("TEAMINBOX_TEST_DATABASE_URL") or DEFAULT_POSTGRES,
                        help="a PostgreSQL URL; fresh databases are created beside it and dropped")
    parser.add_argument("--clients", type=int, help="connected clients (default 1000)")
    parser.add_argument("--rate", type=float, help="targeted: messages/s (default 200, × 5 deliveries)")
    parser.add_argument("--rounds", type=int, help="alternating rounds per target (default 2; quick 1)")
    parser.add_argument("--seconds", type=float, dest="targeted_seconds", help="targeted publishing window")
    parser.add_argument("--idle-seconds", type=float)
    parser.add_argument("--broadcast-seconds", type=float)
    parser.add_argument("--window", type=int, help="broadcast: messages in flight (default 8)")
    parser.add_argument("--typing-signals", type=int)
    parser.add_argument("--skip", default="", help="comma-separated: targeted (and idle), broadcast, typing")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds for the whole run")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    overrides = {name: getattr(args, name) for name in (
        "postgres", "clients", "rate", "rounds", "targeted_seconds", "idle_seconds", "broadcast_seconds", "window",
        "typing_signals")}
    if args.backends:
        overrides["backends"] = [b.strip() for b in args.backends.split(",") if b.strip()]
        unknown = set(overrides["backends"]) - set(BACKENDS)
        if unknown:
            raise SystemExit(f"unknown backends: {', '.join(sorted(unknown))}")
    overrides["skip"] = {s.strip() for s in args.skip.split(",") if s.strip()}
    rows = asyncio.run(asyncio.wait_for(measure(args.quick, output=args.output, **overrides), args.timeout))
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
