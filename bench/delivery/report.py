"""bench.delivery's figures: per step, throughput at the emulator against the emulator's
ceiling, latency from the sendMessage answer to the emulator and to SENT, CPU; the
worker's own ceiling; the targets of issue 12 (met or not); and bench/DELIVERY.md."""
from __future__ import annotations

import math
import os
import platform
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bench.common.report import cpu_model, percentile
from bench.common.targets import TargetRow, markdown
from bench.delivery.load import Backlog, Step, Usage
from bench.delivery.peer import Ceiling, Emulator
from bench.delivery.records import Record

TARGET_RATE = 200.0  # replies/s below which the worker must never be the bottleneck
LATENCY_RATE = 50.0
LATENCY_P99_MS = 100.0
KEEPS_UP_BACKLOG_SECONDS = 0.5  # unsent at the window's end, in seconds of the offered rate


@dataclass
class BackendRun:
    label: str
    ceiling: Ceiling | None = None
    steps: list[Step] = field(default_factory=list)
    backlog: Backlog | None = None
    emulator: Emulator | None = None
    records: dict[int, Record] = field(default_factory=dict)
    failure: str | None = None


def fmt(value: float, digits: int = 1) -> str:
    return "n/a" if value != value else f"{value:,.{digits}f}"


def _ms(values: list[int], q: float) -> str:
    return fmt(percentile(values, q), 1)


def _triple(values: list[int]) -> str:
    return f"{_ms(values, .5)} / {_ms(values, .99)} / {_ms(values, 1.0)}" if values else "n/a"


@dataclass
class StepFigures:
    answered: float  # sendMessage answers/s in the window
    delivered: float  # arrivals at the emulator/s in the window
    backlog: int  # answered but not arrived at the window's end
    drain: float  # s from the window's end to the last arrival
    to_arrival: list[int]
    to_sent: list[int]
    arrival_to_sent: list[int]
    api: list[int]
    not_sent: int  # replies of the step without SENT in the database


def figures(step: Step, run: BackendRun) -> StepFigures:
    assert run.emulator is not None
    arrivals = run.emulator.arrivals
    end = step.end_ns
    arrived = [(r, arrivals[r.message_id]) for r in step.replies if r.message_id in arrivals]
    to_sent, arrival_to_sent = [], []
    for reply, at in arrived:
        sent = run.records.get(reply.message_id)
        if sent is not None and sent.sent_wall_ns is not None:
            to_sent.append(sent.sent_wall_ns - reply.answered_wall_ns)
            # The arrival on the wall clock, by this reply's own reading of both clocks.
            arrival_to_sent.append(sent.sent_wall_ns - (at + reply.answered_wall_ns - reply.answered_ns))
    last = max((at for _, at in arrived), default=end)
    return StepFigures(
        answered=sum(1 for r in step.replies if r.answered_ns <= end) / step.seconds,
        delivered=sum(1 for _, at in arrived if step.begin_ns <= at <= end) / step.seconds,
        backlog=sum(1 for r in step.replies if r.answered_ns <= end and arrivals.get(r.message_id, end + 1) > end),
        drain=max(0.0, (last - end) / 1e9),
        to_arrival=[at - r.answered_ns for r, at in arrived], to_sent=to_sent, arrival_to_sent=arrival_to_sent,
        api=[r.answered_ns - r.sent_ns for r in step.replies],
        not_sent=sum(1 for r in step.replies if getattr(run.records.get(r.message_id), "status", None) != "SENT"),
    )


def _offered(step: Step, connections: int) -> str:
    return f"{fmt(step.offered, 0)}/s" if step.offered else f"max ({connections} connections)"


def _cpu(usage: Usage | None, replies: int) -> tuple[str, str, str]:
    if usage is None:
        return "n/a", "n/a", "n/a"
    per = 1000 * usage.server / replies if replies else math.nan
    return fmt(usage.percent("server"), 0), fmt(per, 2), fmt(100 * usage.machine_busy, 0)


def step_tables(run: BackendRun, connections: int) -> list[str]:
    ceiling = run.ceiling.rate if run.ceiling else math.nan
    lines = [f"### {run.label}", "",
             "| step | offered | sendMessage answered/s | delivered/s at the emulator | ÷ emulator ceiling "
             "| unsent at window end | drain s | server CPU % of a core | server CPU ms per reply "
             "| machine busy % | failed calls |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    latency = ["", "| step | replies | sendMessage p50 / p99 ms | answer → emulator p50 / p99 / max ms "
               "| answer → SENT p50 / p99 / max ms | emulator → SENT p50 / p99 ms | publisher lag p99 ms "
               "| not SENT |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for step in run.steps:
        f = figures(step, run)
        cpu, per, busy = _cpu(step.usage, len(step.replies))
        lines.append(f"| {step.name} | {_offered(step, connections)} | {fmt(f.answered)} | {fmt(f.delivered)} "
                     f"| {fmt(f.delivered / ceiling, 2)}× | {f.backlog:,} | {fmt(f.drain, 2)} | {cpu} | {per} "
                     f"| {busy} | {(step.loop.failed if step.loop else 0):,} |")
        # At saturation the schedule is out of reach by design: its lateness says nothing.
        lag = step.loop.lag_ns if step.loop and step.offered else []
        latency.append(f"| {step.name} | {len(step.replies):,} | {_ms(f.api, .5)} / {_ms(f.api, .99)} "
                       f"| {_triple(f.to_arrival)} | {_triple(f.to_sent)} "
                       f"| {_ms(f.arrival_to_sent, .5)} / {_ms(f.arrival_to_sent, .99)} | {_ms(lag, .99)} "
                       f"| {f.not_sent + step.undelivered:,} |")
    errors = sorted({e for step in run.steps for e in step.failures})
    return lines + latency + [""] + [f"- failed call: {e}" for e in errors[:5]] + ([""] if errors else [])


def worker_rate(backlog: Backlog, arrivals: dict[int, int]) -> float:
    """Replies/s between the 10th and the 90th percentile arrival of the drained backlog:
    the steady state, without the restart's ramp and the last conversations' tail."""
    times = sorted(arrivals[r.message_id] for r in backlog.replies if r.message_id in arrivals)
    if len(times) < 10:
        return math.nan
    low, high = times[len(times) // 10], times[(9 * len(times)) // 10]
    return ((9 * len(times)) // 10 - len(times) // 10) / ((high - low) / 1e9) if high > low else math.nan


def ceiling_table(runs: list[BackendRun]) -> list[str]:
    lines = ["| backend | emulator ceiling req/s (emulator CPU %, driver CPU %) | bare client req/s "
             "| worker alone: backlog drained replies/s | ÷ emulator ceiling | server CPU ms per reply, worker alone "
             "| API alone: sendMessage/s (worker off) | server CPU ms per reply, API alone "
             "| one core ÷ (API + worker ms) replies/s |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for run in runs:
        c = run.ceiling
        ceiling = (f"{fmt(c.rate, 0)} ({fmt(c.emulator_cpu, 0)}%, {fmt(c.driver_cpu, 0)}%) | {fmt(c.raw_rate, 0)}"
                   if c else "n/a | n/a")
        b = run.backlog
        if b is None or run.emulator is None:
            lines.append(f"| {run.label} | {ceiling} | n/a | n/a | n/a | n/a | n/a | n/a |")
            continue
        rate = worker_rate(b, run.emulator.arrivals)
        after = sum(1 for r in b.replies if run.emulator.arrivals.get(r.message_id, 0) >= b.healthy_ns)
        worker_ms = 1000 * b.drain_usage.server / after if after else math.nan
        api_ms = 1000 * b.enqueue_usage.server / b.count
        lines.append(f"| {run.label} | {ceiling} | {fmt(rate, 0)} | {fmt(rate / c.rate if c else math.nan, 2)}× "
                     f"| {fmt(worker_ms, 2)} | {fmt(b.count / b.enqueue_seconds, 0)} | {fmt(api_ms, 2)} "
                     f"| {fmt(1000 / (api_ms + worker_ms), 0)} |")
    return lines


def target_rows(runs: list[BackendRun]) -> list[TargetRow]:
    rows = []
    for run in runs:
        by_rate = {step.offered: step for step in run.steps}
        latency_step, rate_step = by_rate.get(LATENCY_RATE), by_rate.get(TARGET_RATE)
        path = f"replies, sendMessage → provider emulator ({run.label})"
        if latency_step is None or rate_step is None:
            why = run.failure or "not run"
            rows += [TargetRow(path, f"p99 answer → SENT at {LATENCY_RATE:.0f} replies/s", "≤ 100 ms",
                               f"not measured: {why}", None),
                     TargetRow(path, f"worker keeps up at {TARGET_RATE:.0f} replies/s", "never the bottleneck",
                               f"not measured: {why}", None)]
            continue
        f = figures(latency_step, run)
        p99 = percentile(f.to_sent, .99)
        complete = f.not_sent == 0 and latency_step.undelivered == 0
        rows.append(TargetRow(
            path, f"p99 sendMessage answer → SENT at {LATENCY_RATE:.0f} replies/s", "≤ 100 ms",
            f"p99 {fmt(p99)} ms, p50 {fmt(percentile(f.to_sent, .5))} ms, max {fmt(percentile(f.to_sent, 1.0))} ms "
            f"over {len(f.to_sent):,} replies" + ("" if complete else f"; {f.not_sent} not SENT"),
            p99 <= LATENCY_P99_MS and complete))
        g = figures(rate_step, run)
        ceiling = run.ceiling.rate if run.ceiling else math.nan
        took = g.answered >= 0.97 * TARGET_RATE
        kept_up = g.backlog <= KEEPS_UP_BACKLOG_SECONDS * TARGET_RATE and rate_step.undelivered == 0
        alone = worker_rate(run.backlog, run.emulator.arrivals) if run.backlog and run.emulator else math.nan
        result = (f"{fmt(g.delivered)} delivered/s for {fmt(g.answered)} answered/s ({fmt(g.delivered / ceiling, 2)}× "
                  f"the emulator's {fmt(ceiling, 0)} req/s), {g.backlog} unsent at the window's end, p99 answer → "
                  f"SENT {_ms(g.to_sent, .99)} ms; worker alone {fmt(alone, 0)} replies/s")
        if not took:
            result += f"; the server answered only {fmt(g.answered)} of {TARGET_RATE:.0f} sendMessage/s"
        rows.append(TargetRow(path, f"worker keeps up at {TARGET_RATE:.0f} replies/s",
                              "never the bottleneck below 200/s", result,
                              took and kept_up and alone >= TARGET_RATE))
    return rows


def checks(runs: list[BackendRun]) -> list[str]:
    lines = []
    for run in runs:
        e = run.emulator
        if e is None:
            continue
        ours = [r for step in run.steps for r in step.replies] + (run.backlog.replies if run.backlog else [])
        missing = sum(1 for r in ours if r.message_id not in e.arrivals)
        mismatched = sum(1 for r in ours if (rec := run.records.get(r.message_id)) is None or rec.status != "SENT")
        off = run.backlog.sent_while_off if run.backlog else 0
        early = sum(1 for step in run.steps for v in figures(step, run).arrival_to_sent if v < 0)
        lines.append(f"- {run.label}: {len(ours):,} replies answered; {missing} never reached the emulator; "
                     f"{e.duplicates} sent twice; {e.bad_signatures} badly signed requests of {e.requests:,}; "
                     f"{mismatched} not SENT in the database; {off} sent while the worker was off; "
                     f"{early} SENT before the emulator saw them (a clock check: 0 expected)")
    return lines


def document(runs: list[BackendRun], command: str, setup: str, load: str, seconds: float, connections: int) -> str:
    uname = platform.uname()
    rows = target_rows(runs)
    out = ["# Outbound delivery: sendMessage → provider emulator → SENT (issue 12)", "",
           f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
           f"- Machine: {os.cpu_count()} CPUs ({cpu_model()}), {uname.system} {uname.release} {uname.machine}, "
           f"Python {platform.python_version()}",
           f"- Command: `{command}` ({seconds / 60:.1f} min)",
           f"- Setup: {setup}",
           f"- Load average (1 min) at start / end: {load} (other processes on the machine count too)", "",
           markdown(rows), "## Ceilings", "", *ceiling_table(runs), "",
           "*Emulator ceiling*: the WEBHOOK provider's own `send` (signed JSON, httpx with the worker's default "
           f"limits) driven straight at the emulator by {connections} loops, no database: what the worker's HTTP "
           "side could reach at best; *bare client*: the same requests from a minimal keep-alive HTTP/1.1 client "
           "(bench/common/http.py), nearer the emulator's own limit. *Worker alone*: the server restarted with "
           "TEAMINBOX_DELIVERY_WORKER=0 took a backlog through sendMessage (*API alone*), then restarted with its "
           "worker drained it with nothing else to do (rate between the 10th and 90th percentile arrival). API and "
           "worker run in one process, on one event loop: the last column is what one core could carry end to end "
           "if nothing else cost anything.", "",
           "## Steps", "", *[line for run in runs for line in step_tables(run, connections)],
           "*answer* = the moment the sendMessage answer was read; *SENT* = the `created_at` of the reply's "
           "MessageDeliveryChanged(SENT) event row, written by the worker last thing before it commits the "
           "provider's acceptance (read from the database after the run); *emulator* = the request's first bytes "
           "at the emulator. Delivered/s counts arrivals during the window; what was still unsent at its end "
           "drains after it. A negative latency is a reply the worker sent before its sender had read the answer. "
           "*Publisher lag*: how late a call left against its schedule because every connection was busy "
           "(n/a at saturation, whose schedule is out of reach by design).",
           "", "## Checks", "", *checks(runs), ""]
    out += [f"- {run.label}: **failed**: {run.failure}" for run in runs if run.failure]
    return "\n".join(out) + "\n"
