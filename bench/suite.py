"""The whole issue-5 benchmark suite in one command: the inbox HTTP benchmarks
(bench.inbox) and the realtime ones (bench.realtime), one after the other, so they don't
compete for the machine's two cores; prints one targets table and writes it, with the
date, machine, load average and commands, to bench/RESULTS.md.

    .venv/bin/python -m bench.suite            # full: 10k/100k/1M, 3 rounds each (about an hour when it seeds)
    .venv/bin/python -m bench.suite --quick    # a few minutes once the 10k/100k databases are seeded

Details stay in bench/INBOX.md and bench/REALTIME.md; how each measures: bench/README.md."""
from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.common.paths import BENCH
from bench.common.report import cpu_model
from bench.common.targets import TargetRow, markdown
from bench.inbox.measure import measure as measure_inbox
from bench.realtime.measure import measure as measure_realtime


async def run(quick: bool) -> list[TargetRow]:
    rows = await measure_inbox(quick, command=_command(quick), log=_log)
    return rows + await measure_realtime(quick)


def _command(quick: bool) -> str:
    return ".venv/bin/python -m bench.suite" + (" --quick" if quick else "")


def _log(*parts) -> None:
    print(*parts, file=sys.stderr, flush=True)


def document(rows: list[TargetRow], quick: bool, load_before: float, minutes: float) -> str:
    uname = platform.uname()
    return "\n".join([
        "# Benchmark results (issue 5 targets)",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {minutes:.0f} min",
        f"- Machine: {os.cpu_count()} CPUs ({cpu_model()}), {uname.system} {uname.release}, "
        f"Python {platform.python_version()}",
        f"- Command: `{_command(quick)}`",
        f"- Load average (1 min) before / after: {load_before:.2f} / {os.getloadavg()[0]:.2f}",
        "- Every figure is teaminbox next to its baseline or peer in the same run, alternating; "
        "details in [INBOX.md](INBOX.md) and [REALTIME.md](REALTIME.md), method in [README.md](README.md).",
        "",
        markdown(rows),
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.suite", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k and 100k only, one short round per target")
    parser.add_argument("--output", type=Path, default=BENCH / "RESULTS.md")
    args = parser.parse_args(argv)
    load_before, started = os.getloadavg()[0], time.monotonic()
    rows = asyncio.run(run(args.quick))
    text = document(rows, args.quick, load_before, (time.monotonic() - started) / 60)
    args.output.write_text(text)
    print(text)
    print(f"written to {args.output}", file=sys.stderr)
    return 0 if rows else 1


if __name__ == "__main__":
    sys.exit(main())
