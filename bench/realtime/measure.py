"""The realtime targets of issue 5: targeted fan-out latency, saturated broadcast
throughput, typing across two instances, and the cost of idle subscriptions, each next to
a baseline measured in the same run.

    .venv/bin/python -m bench.realtime            # SQLite and PostgreSQL, 2 rounds (~15 min on 2 cores)
    .venv/bin/python -m bench.realtime --quick    # SQLite only, shorter windows, 1 round (a few minutes)

`measure(quick)` (async) returns the rows for bench.common.targets.markdown; the command
prints the table and the details, and writes both, with the date, the machine, the load
average and the command, to bench/REALTIME.md. How each one measures: the module docstrings
of bench/realtime/targeted.py, broadcast.py and typing_signal.py. Only
127.0.0.1 traffic; every server, worker, private Redis and database is removed at the end."""
from __future__ import annotations

import asyncio
import os
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from bench.common.paths import BENCH
from bench.common.postgres import beside, connected
from bench.common.rounds import Target, baseline_publisher, frame_template, teaminbox_publisher
from bench.common.targets import TargetRow
from bench.common.workers import raise_fd_limit
from bench.realtime.broadcast import BroadcastRound, run_broadcast_round
from bench.realtime.common import BACKENDS, DEFAULT_POSTGRES, Backend, Servers, backend_servers, log
from bench.realtime.report import Report, broadcast_row, document, idle_row, targeted_row, typing_row
from bench.realtime.targeted import (
    GroupTarget,
    TargetedRound,
    baseline_group_publisher,
    run_targeted_round,
    subscribe_payload,
    teaminbox_group_publisher,
)
from bench.realtime.typing_signal import TypingResult, run_typing

TARGETS = ("baseline", "teaminbox")
DEFAULT_OUTPUT = BENCH / "REALTIME.md"


@dataclass
class Options:
    quick: bool = False
    backends: list[str] = field(default_factory=lambda: ["sqlite", "postgres"])
    postgres: str = DEFAULT_POSTGRES
    clients: int = 1000
    group_size: int = 5
    rate: float = 200.0  # targeted: messages per second (× group_size deliveries)
    targeted_seconds: float = 20.0
    idle_seconds: float = 40.0  # a multiple of uvicorn's 20 s keep-alive ping: each socket pinged equally often
    broadcast_seconds: float = 15.0
    window: int = 8
    rounds: int = 2
    typing_signals: int = 400
    workers: int = 2
    skip: set[str] = field(default_factory=set)  # of: targeted (also skips idle), broadcast, typing
    output: Path | None = DEFAULT_OUTPUT

    @classmethod
    def for_run(cls, quick: bool, **overrides) -> Options:
        options = cls(quick=quick)
        if quick:
            options.targeted_seconds, options.idle_seconds, options.broadcast_seconds = 5.0, 20.0, 5.0
            options.rounds, options.typing_signals = 1, 100
            options.backends = ["sqlite"]  # typing still runs on PostgreSQL + Redis
        for name, value in overrides.items():
            if value is not None:
                setattr(options, name, value)
        if options.clients < options.group_size or options.clients % options.group_size:
            raise ValueError(f"clients ({options.clients}) must be a multiple of {options.group_size}")
        return options


@dataclass
class BackendResults:
    backend: Backend
    targeted: dict[str, list[TargetedRound]] = field(default_factory=lambda: {t: [] for t in TARGETS})
    broadcast: dict[str, list[BroadcastRound]] = field(default_factory=lambda: {t: [] for t in TARGETS})
    failure: str = ""


async def _measure_backend(options: Options, found: BackendResults, workdir: Path) -> None:
    """Fills `found` round by round, so what was measured survives a later failure."""
    backend = found.backend
    conversations = options.clients // options.group_size
    log(f"{backend.label}: starting the servers, seeding {conversations} conversations")
    async with backend_servers(workdir / backend.key, backend, options.postgres, conversations) as servers:
        if "targeted" not in options.skip:
            group_targets = _group_targets(servers)
            for r in range(options.rounds):
                for group_target in group_targets:
                    log(f"  targeted + idle, round {r + 1}/{options.rounds}: {group_target.name}")
                    found.targeted[group_target.name].append(await run_targeted_round(
                        group_target, options.group_size, options.rate, options.targeted_seconds,
                        options.idle_seconds, options.workers))
        if "broadcast" not in options.skip:
            broadcast_targets = _broadcast_targets(servers)
            for r in range(options.rounds):
                for target in broadcast_targets:
                    log(f"  broadcast, round {r + 1}/{options.rounds}: {target.name}")
                    found.broadcast[target.name].append(await run_broadcast_round(
                        target, options.clients, options.broadcast_seconds, options.window, options.workers))


def _group_targets(servers: Servers) -> list[GroupTarget]:
    return [
        GroupTarget("baseline", servers.baseline, ["unused"], servers.conversations,
                    baseline_group_publisher(servers.conversations)),
        GroupTarget("teaminbox", servers.teaminbox, servers.teaminbox.tokens, servers.conversations,
                    teaminbox_group_publisher(servers.teaminbox, servers.phones)),
    ]


def _broadcast_targets(servers: Servers) -> list[Target]:
    conversation = servers.teaminbox.conversation_id
    subscribe = subscribe_payload(conversation)
    return [
        Target("baseline", servers.baseline, ["unused"], subscribe,
               baseline_publisher(frame_template("conversation", "conversationEvents", conversation))),
        Target("teaminbox", servers.teaminbox, servers.teaminbox.tokens, subscribe,
               teaminbox_publisher(servers.teaminbox)),
    ]


async def _postgres_problem(url: str) -> str | None:
    try:
        async with connected(beside(url, "postgres"), timeout=5):
            return None
    except Exception as error:
        return f"PostgreSQL at {url} unreachable ({error!r:.120})"


async def run(options: Options) -> Report:
    raise_fd_limit(options.clients * 4 + 512)
    pg_problem = None
    if "postgres" in options.backends or "typing" not in options.skip:
        pg_problem = await _postgres_problem(options.postgres)
        if pg_problem:
            log(f"warning: {pg_problem}: PostgreSQL measurements are skipped")
    results: list[BackendResults] = []
    typing: TypingResult | None = None
    typing_failure = pg_problem or ""
    with tempfile.TemporaryDirectory(prefix="teaminbox-realtime-") as tmp:
        workdir = Path(tmp)
        for key in options.backends:
            backend = BACKENDS[key]
            if backend.needs_postgres and pg_problem:
                results.append(BackendResults(backend, failure=pg_problem))
                continue
            if {"targeted", "broadcast"} <= options.skip:
                continue
            found = BackendResults(backend)
            results.append(found)
            try:
                await _measure_backend(options, found, workdir)
            except Exception as error:
                log(f"{backend.label} failed: {error!r}\n{traceback.format_exc()}")
                found.failure = f"failed: {error!r:.200}"
        if "typing" not in options.skip and not pg_problem:
            log(f"typing across two instances: {options.typing_signals} signals")
            try:
                typing = await run_typing(workdir / "typing", options.postgres, options.typing_signals)
            except Exception as error:
                log(f"typing failed: {error!r}\n{traceback.format_exc()}")
                typing_failure = f"failed: {error!r:.200}"
    details: list[str] = []
    rows = [targeted_row(options, found, details) for found in results if "targeted" not in options.skip]
    rows += [broadcast_row(options, found, details) for found in results if "broadcast" not in options.skip]
    if "typing" not in options.skip:
        rows.append(typing_row(typing, typing_failure, details))
    rows += [idle_row(options, found, details) for found in results if "targeted" not in options.skip]
    setup = (f"{options.clients:,} clients in {options.workers} worker processes (websockets sans-I/O, "
             f"permessage-deflate offered); targeted: {options.clients // options.group_size} conversations × "
             f"{options.group_size} clients, {options.rate:g} messages/s open loop for {options.targeted_seconds:g} s; "
             f"idle: {options.idle_seconds:g} s; broadcast: one conversation, {options.window} messages in flight for "
             f"{options.broadcast_seconds:g} s; {options.rounds} alternating round(s) per target (baseline first); "
             f"typing: {options.typing_signals} signals, two instances")
    return Report(rows, details, setup)


async def measure(quick: bool, *, output: Path | None = DEFAULT_OUTPUT, **overrides) -> list[TargetRow]:
    """The suite's entry point: runs everything, prints the details to stderr, writes them
    to `output` (bench/REALTIME.md; None: nowhere) and returns the rows. `overrides` are
    Options fields (None leaves the default)."""
    options = Options.for_run(quick, **overrides)
    options.output = output
    load_start = os.getloadavg()[0]
    started = time.monotonic()
    report = await run(options)
    elapsed = time.monotonic() - started
    text = document(options, report, load_start, elapsed)
    log(text)
    if options.output is not None:
        await asyncio.to_thread(options.output.write_text, text)
        log(f"written to {options.output}")
    return report.rows
