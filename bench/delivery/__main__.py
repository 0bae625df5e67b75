"""Outbound delivery (issue 12): replies per second from sendMessage to a provider emulator
and the latency from sendMessage to SENT, against the emulator's own ceiling measured in
the same run, on SQLite + memory:// and on PostgreSQL + a private Redis.

    .venv/bin/python -m bench.delivery [--backends sqlite,postgres] [--quick]

Per backend: the emulator (bench/delivery/emulator.py) and a real `teaminbox serve` with a
WEBHOOK channel pointed at it; the emulator's ceiling; open-loop sendMessage at 50/s,
200/s and as fast as the server answers; then the worker alone draining a backlog. Prints
the targets and writes them with the details to bench/DELIVERY.md. About 3-4 min (quick:
under 1 min)."""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import os
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common.api import COMPANY_PHONE
from bench.common.paths import BENCH
from bench.common.targets import markdown
from bench.delivery.load import backlog, offered_step
from bench.delivery.peer import measure_ceiling, start_emulator
from bench.delivery.records import settled_records
from bench.delivery.report import BackendRun, document, target_rows
from bench.delivery.target import Target, start_target
from bench.realtime.common import DEFAULT_POSTGRES, log, postgres_and_redis
from server.delivery_worker import POLL_SECONDS, DeliveryWorker

LABELS = {"sqlite": "SQLite + memory://", "postgres": "PostgreSQL + Redis"}
# The worker's own: the emulator's ceiling is measured with as many requests in flight.
WORKER_CONCURRENCY: int = inspect.signature(DeliveryWorker.__init__).parameters["concurrency"].default


@dataclass(frozen=True)
class Plan:
    conversations: int
    ceiling_seconds: float
    warm_up: float
    steps: tuple[tuple[str, float, float], ...]  # (name, offered replies/s, seconds); a huge rate: saturation
    backlog: int
    drain_timeout: float = 30.0


FULL = Plan(300, 5, 3, (("50/s", 50, 20), ("200/s", 200, 15), ("saturation", 5000, 10)), 2000)
QUICK = Plan(100, 1.5, 1, (("50/s", 50, 5), ("200/s", 200, 3), ("saturation", 5000, 2)), 300)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.delivery", description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--quick", action="store_true", help="shorter steps, a smaller backlog (under 1 min)")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES,
                        help="a PostgreSQL URL; a fresh database is made beside it and dropped after")
    parser.add_argument("--pool", type=int, default=10, help="teaminbox's PostgreSQL pool size (maxsize)")
    parser.add_argument("--connections", type=int, default=32, help="sendMessage keep-alive connections")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds for the whole run")
    parser.add_argument("--output", type=Path, default=BENCH / "DELIVERY.md")
    args = parser.parse_args(argv)
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if not args.backends or set(args.backends) - set(LABELS):
        parser.error(f"--backends takes {', '.join(LABELS)}")
    return args


async def run_backend(key: str, args: argparse.Namespace, plan: Plan, workdir: Path) -> BackendRun:
    run = BackendRun(LABELS[key])
    began = time.monotonic()

    def step(text: str) -> None:
        log(f"  [{time.monotonic() - began:5.1f} s] {text}")

    log(f"{run.label}:")
    await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
    target: Target | None = None
    async with contextlib.AsyncExitStack() as stack:
        try:
            if key == "postgres":
                database_url, broadcast_url = await stack.enter_async_context(postgres_and_redis(args.postgres))
                database_url += f"?maxsize={args.pool}"
            else:
                database_url, broadcast_url = f"sqlite://{workdir / 'bench.db'}", None
            run.emulator = emulator = await start_emulator(workdir)
            stack.push_async_callback(emulator.server.stop)
            target = await start_target(workdir, database_url, broadcast_url, emulator, plan.conversations)
            step(f"{plan.conversations} conversations open; emulator ceiling ({plan.ceiling_seconds:g} s)")
            run.ceiling = await measure_ceiling(emulator, WORKER_CONCURRENCY, plan.ceiling_seconds, COMPANY_PHONE)
            await offered_step("warm-up", target, emulator, 20, plan.warm_up, args.connections, plan.drain_timeout)
            for name, rate, seconds in plan.steps:
                step(f"{name} for {seconds:.0f} s")
                done = await offered_step(name, target, emulator, rate, seconds, args.connections, plan.drain_timeout)
                done.offered = None if name == "saturation" else rate
                run.steps.append(done)
            step(f"backlog of {plan.backlog}: worker off, then on")
            run.backlog = await backlog(target, emulator, plan.backlog, args.connections, plan.drain_timeout)
            ours = {r.message_id for step in run.steps for r in step.replies} | {
                r.message_id for r in run.backlog.replies}
            run.records = await settled_records(database_url, ours, plan.drain_timeout)
            step("done")
        except Exception as error:
            run.failure = f"{type(error).__name__}: {error}"[:500]
            log(f"  failed: {run.failure}")
            if target is not None:
                log(f"--- teaminbox log (tail) ---\n{target.server.log_tail()}")
        finally:
            if target is not None:
                await target.server.stop()
    return run


async def main_async(args: argparse.Namespace) -> tuple[str, str]:
    plan = QUICK if args.quick else FULL
    load_start = os.getloadavg()[0]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="teaminbox-delivery-") as workdir:
        runs = [await run_backend(key, args, plan, Path(workdir) / key) for key in args.backends]
    command = " ".join([".venv/bin/python -m bench.delivery", *map(shlex.quote, sys.argv[1:])])
    steps = ", ".join(f"{name} for {seconds:.0f} s" for name, _, seconds in plan.steps)
    setup = (f"per backend one `teaminbox serve` (delivery worker on: concurrency {WORKER_CONCURRENCY}, "
             f"POLL_SECONDS {POLL_SECONDS}; TEAMINBOX_SECRET_KEY set; PostgreSQL pool {args.pool}) and one emulator "
             f"process; a WEBHOOK channel set by the admin (setMessagingChannel); {plan.conversations} conversations "
             f"opened by the signed inbound webhook; 1 admin + 3 agents send the SendMessage document with a "
             f"clientMessageId over {args.connections} keep-alive connections, round-robin over the conversations; "
             f"a {plan.warm_up:.0f} s warm-up at 20/s, then {steps}; a backlog of {plan.backlog:,}")
    load = f"{load_start:.2f} / {os.getloadavg()[0]:.2f}"
    text = document(runs, command, setup, load, time.monotonic() - started, WORKER_CONCURRENCY)
    return markdown(target_rows(runs)), text


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    summary, text = asyncio.run(asyncio.wait_for(main_async(args), args.timeout))
    args.output.write_text(text)
    print(summary)
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
