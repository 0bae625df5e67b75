"""The rows of bench.realtime (bench.common.targets.TargetRow) and the details behind them:
the tables and notes that go to stderr and bench/REALTIME.md."""
from __future__ import annotations

import os
import platform
import shlex
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bench.common.report import cpu_model
from bench.common.targets import TargetRow, markdown
from bench.realtime.common import fmt, ms, ratio
from bench.realtime.typing_signal import TypingResult

if TYPE_CHECKING:
    from bench.realtime.measure import BackendResults, Options


@dataclass
class Report:
    rows: list[TargetRow]
    details: list[str]
    setup: str


def _pooled(rounds: list, name: str) -> list[int]:
    return [v for r in rounds for v in getattr(r, name)]


def targeted_row(options: Options, found: BackendResults, details: list[str]) -> TargetRow:
    path = (f"targeted fan-out: 1 event → {options.group_size} of {options.clients:,} clients, "
            f"{options.rate * options.group_size:,.0f} deliveries/s ({found.backend.label})")
    measure, target = "publish-to-receipt p99", "≤ 25 ms"
    ti, base = found.targeted["teaminbox"], found.targeted["baseline"]
    if not ti:
        return TargetRow(path, measure, target, f"not measured: {found.failure or 'skipped'}", None)
    details += [f"### Targeted fan-out, {found.backend.label}", "",
                "| target | rounds | messages sent | achieved msg/s | receipts / expected | p50 ms | p99 ms | max ms "
                "| POST p50 ms | publisher lag p99 ms | connect s |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    stats = {}
    for name, rounds in (("baseline", base), ("teaminbox", ti)):
        lat = _pooled(rounds, "latencies_ns")
        sent = sum(r.sent for r in rounds)
        rate = sent / sum(r.send_seconds for r in rounds) if sent else float("nan")
        received, expected = sum(r.received for r in rounds), sum(r.expected for r in rounds)
        stats[name] = (ms(lat, .5), ms(lat, .99), rate, received, expected)
        details.append(
            f"| {name} | {len(rounds)} | {sent:,} | {fmt(rate)} | {stats[name][3]:,} / {stats[name][4]:,} "
            f"| {fmt(ms(lat, .5), 2)} | {fmt(ms(lat, .99), 2)} | {fmt(ms(lat, 1.0), 2)} "
            f"| {fmt(ms(_pooled(rounds, 'post_ns'), .5), 2)} | {fmt(ms(_pooled(rounds, 'lag_ns'), .99), 2)} "
            f"| {fmt(sum(r.connect_s for r in rounds) / len(rounds))} |")
    errors = sorted({e for r in ti + base for e in r.errors})
    details += [""] + [f"- client/publisher error: {e}" for e in errors[:5]] + ([""] if errors else [])
    details += ["Open loop: message i is due at i / rate, round-robin over the conversations, sent on a free one of "
                "16 keep-alive publisher connections; when all 16 await answers the send is late (*publisher lag*), "
                "what would fall after the window is not sent, and the achieved rate drops below the target: the "
                "server took webhooks no faster. Latency counts "
                "from the actual send, for every (message, watching client) pair. *POST* = the publisher's HTTP "
                "round trip (teaminbox: the webhook stores the message and publishes before answering).", ""]
    p50, p99, rate, received, expected = stats["teaminbox"]
    b50, b99 = stats["baseline"][:2]
    short = rate < 0.95 * options.rate
    result = (f"p99 {fmt(p99, 1)} ms, p50 {fmt(p50, 1)} ms (Starlette {fmt(b99, 1)} / {fmt(b50, 1)} ms: "
              f"{fmt(ratio(p99, b99))}× at p99); {fmt(rate * options.group_size, 0)} deliveries/s achieved")
    if received < expected:
        result += f"; {expected - received:,} receipts missing"
    if short:
        result += " (publisher fell short of the rate)"
    result += _incomplete(found)
    return TargetRow(path, measure, target, result, p99 <= 25.0 and received == expected and not short)


def _incomplete(found: BackendResults) -> str:
    return f"; incomplete, {found.failure}" if found.failure else ""


def broadcast_row(options: Options, found: BackendResults, details: list[str]) -> TargetRow:
    path = f"broadcast fan-out: every event to all {options.clients:,} subscribers ({found.backend.label})"
    measure, target = "saturated deliveries/s vs plain Starlette broadcast", "≥ 0.25×"
    ti, base = found.broadcast["teaminbox"], found.broadcast["baseline"]
    if not ti or not base:
        return TargetRow(path, measure, target, f"not measured: {found.failure or 'skipped'}", None)
    details += [f"### Saturated broadcast, {found.backend.label} ({options.window} messages in flight)", "",
                "| target | deliveries/s per round | deliveries/s (all rounds) | messages | not delivered in 30 s "
                "| latency under load p50 / p99 ms | connect s |",
                "|---|---|---:|---:|---:|---:|---:|"]
    rates = {}
    for name, rounds in (("baseline", base), ("teaminbox", ti)):
        rates[name] = sum(r.deliveries for r in rounds) / sum(r.seconds for r in rounds)
        lat = _pooled(rounds, "latencies_ns")
        details.append(f"| {name} | {', '.join(fmt(r.rate, 0) for r in rounds)} | {fmt(rates[name], 0)} "
                       f"| {sum(r.messages for r in rounds):,} | {sum(r.stalled for r in rounds)} "
                       f"| {fmt(ms(lat, .5), 1)} / {fmt(ms(lat, .99), 1)} "
                       f"| {fmt(sum(r.connect_s for r in rounds) / len(rounds))} |")
    errors = sorted({e for r in ti + base for e in r.errors})
    details += [""] + [f"- client/publisher error: {e}" for e in errors[:5]] + ([""] if errors else [])
    details += [f"{options.window} publisher loops each post a message, then wait until every client has it; "
                "deliveries/s = receipts counted by the client workers during the window ÷ its length. Both "
                "targets' frames are compressed per socket (permessage-deflate) and decoded by the same clients, "
                "which share the CPUs with the server: a client-bound baseline flatters the ratio.", ""]
    value = ratio(rates["teaminbox"], rates["baseline"])
    result = (f"{fmt(value, 2)}× ({fmt(rates['teaminbox'], 0)} vs {fmt(rates['baseline'], 0)} deliveries/s)")
    stalled = sum(r.stalled for r in ti)
    if stalled:
        result += f"; {stalled} messages not fully delivered within 30 s"
    result += _incomplete(found)
    return TargetRow(path, measure, target, result, value >= 0.25 and not stalled)


def idle_row(options: Options, found: BackendResults, details: list[str]) -> TargetRow:
    path = f"{options.clients:,} idle subscriptions ({found.backend.label})"
    measure, target = "server CPU and memory", "< 5% of a core; report MB per subscription"
    ti, base = found.targeted["teaminbox"], found.targeted["baseline"]
    if not ti:
        return TargetRow(path, measure, target, f"not measured: {found.failure or 'skipped'}", None)
    details += [f"### Idle subscriptions, {found.backend.label} ({fmt(options.idle_seconds, 0)} s windows)", "",
                "| target | CPU % of a core per round | RSS before → with clients MB (first round) "
                "| MB per subscription (RSS) | PSS before → with clients MB | MB per subscription (PSS) |",
                "|---|---|---|---:|---|---:|"]
    figures = {}
    for name, rounds in (("baseline", base), ("teaminbox", ti)):
        cpu = [100 * r.idle_cpu_seconds / r.idle_seconds for r in rounds]
        first = rounds[0]
        per_rss = (first.rss_idle - first.rss_before) / options.clients
        per_pss = (first.pss_idle - first.pss_before) / options.clients
        figures[name] = (max(cpu), sum(cpu) / len(cpu), per_rss, per_pss)
        details.append(f"| {name} | {', '.join(fmt(c, 2) for c in cpu)} | {fmt(first.rss_before)} → "
                       f"{fmt(first.rss_idle)} | {fmt(per_rss, 3)} | {fmt(first.pss_before)} → {fmt(first.pss_idle)} "
                       f"| {fmt(per_pss, 3)} |")
    details += ["", "CPU = the server process's utime + stime over the window (after the warm-up and a 2 s pause), "
                "in % of one core. Memory = the server's RSS (PSS) with the clients subscribed minus before they "
                "connected, in the target's first round (later rounds reuse memory the previous one freed), ÷ "
                "clients: the cost of one connection with one subscription. Both servers send uvicorn's keep-alive "
                "ping to every socket every 20 s; the window is a multiple of that.", ""]
    worst, mean, per_rss, per_pss = figures["teaminbox"]
    b_worst, _, b_rss, _ = figures["baseline"]
    result = (f"CPU {fmt(mean, 2)}% of a core (worst round {fmt(worst, 2)}%); {fmt(per_rss, 3)} MB RSS "
              f"({fmt(per_pss, 3)} MB PSS) per subscribed connection; Starlette {fmt(b_worst, 2)}%, "
              f"{fmt(b_rss, 3)} MB") + _incomplete(found)
    return TargetRow(path, measure, target, result, worst < 5.0)


def typing_row(typing: TypingResult | None, failure: str, details: list[str]) -> TargetRow:
    path = "typing signal: setTyping on instance 1 → subscriber on instance 2 (PostgreSQL + Redis)"
    measure, target = "end-to-end p99", "≤ 100 ms"
    if typing is None:
        return TargetRow(path, measure, target, f"not measured: {failure or 'skipped'}", None)
    lat, base = typing.latencies_ns, typing.redis_ns
    details += ["### Typing across two instances", "",
                "| path | samples | lost | p50 ms | p90 ms | p99 ms | max ms |", "|---|---:|---:|---:|---:|---:|---:|",
                f"| setTyping (instance 1) → TypingChanged (instance 2) | {len(lat)} | {typing.lost} "
                f"| {fmt(ms(lat, .5), 2)} | {fmt(ms(lat, .9), 2)} | {fmt(ms(lat, .99), 2)} | {fmt(ms(lat, 1), 2)} |",
                f"| setTyping HTTP round trip (instance 1) | {len(typing.post_ns)} | – "
                f"| {fmt(ms(typing.post_ns, .5), 2)} | {fmt(ms(typing.post_ns, .9), 2)} "
                f"| {fmt(ms(typing.post_ns, .99), 2)} | {fmt(ms(typing.post_ns, 1), 2)} |",
                f"| baseline: Redis PUBLISH → SUBSCRIBE | {len(base)} | {typing.redis_lost} "
                f"| {fmt(ms(base, .5), 2)} | {fmt(ms(base, .9), 2)} | {fmt(ms(base, .99), 2)} "
                f"| {fmt(ms(base, 1), 2)} |",
                ""]
    details += [f"- error: {e}" for e in sorted(set(typing.errors))[:5]] + ([""] if typing.errors else [])
    details += ["Member A's setTyping (HTTP) on instance 1, member B's ConversationEvents on instance 2 (a worker "
                "process); both instances on one PostgreSQL database and a private Redis. Signals alternate "
                "true/false (a repeated true only refreshes the TTL and is, by design, not announced), one at a "
                "time, 20 ms after the previous one arrived, interleaved one for one with the Redis round trip.", ""]
    p99 = ms(lat, .99)
    result = (f"p99 {fmt(p99, 1)} ms, p50 {fmt(ms(lat, .5), 1)} ms over {len(lat)} signals "
              f"(Redis pub/sub alone p99 {fmt(ms(base, .99), 2)} ms)")
    if typing.lost:
        result += f"; {typing.lost} lost"
    return TargetRow(path, measure, target, result, p99 <= 100.0 and not typing.lost)


def document(options: Options, report: Report, load_start: float, elapsed: float) -> str:
    run_as_command = Path(sys.argv[0]).parent.name == "realtime" and Path(sys.argv[0]).stem == "__main__"
    command = " ".join([".venv/bin/python -m bench.realtime", *map(shlex.quote, sys.argv[1:])]) \
        if run_as_command else f"bench.realtime.measure(quick={options.quick})"
    uname = platform.uname()
    return "\n".join([
        "# Realtime targets: teaminbox next to its baselines",
        "",
        f"- Date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Machine: {os.cpu_count()} CPUs ({cpu_model()}), {uname.system} {uname.release} {uname.machine}, "
        f"Python {platform.python_version()}",
        f"- Command: `{command}` ({elapsed / 60:.1f} min)",
        f"- Setup: {report.setup}",
        f"- Load average (1 min) at start / end: {load_start:.2f} / {os.getloadavg()[0]:.2f} "
        "(other processes on the machine count too)",
        "",
        markdown(report.rows),
        "## Details",
        "",
        *report.details,
        "Baselines: *Starlette* is bench/realtime/baseline_ws.py (uvicorn, same WebSocket implementation, no database, "
        "no bus, no GraphQL) sending the same-shaped frame to the same clients; for typing, a Redis "
        "PUBLISH → SUBSCRIBE round trip on the same Redis. Latency = receipt (client `data_received`) − send "
        "(just before the request is written), CLOCK_MONOTONIC. Server, client workers and publisher share the "
        "machine's CPUs.",
        "",
    ])
