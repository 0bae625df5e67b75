"""bench.fanout's results pooled over rounds, the markdown table and bench/FANOUT.md."""
from __future__ import annotations

import math
import os
import platform
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bench.common.report import cpu_model, percentile
from bench.fanout.rounds import RoundResult


@dataclass
class Pooled:
    """One target at one N, all rounds together."""
    rounds: list[RoundResult] = field(default_factory=list)

    def _all(self, name: str) -> list[int]:
        return [v for r in self.rounds for v in getattr(r, name)]

    @property
    def latencies(self) -> list[int]:
        return self._all("latencies_ns")

    def p(self, q: float) -> float:
        return percentile(self.latencies, q)

    def fanout_p50(self) -> float:
        return percentile(self._all("fanout_ns"), 0.5)

    def post_p50(self) -> float:
        return percentile(self._all("post_ns"), 0.5)

    def connect_s(self) -> float:
        times = [r.connect_s for r in self.rounds]
        return sum(times) / len(times) if times else math.nan

    def frame_bytes(self) -> int:
        return max((r.frame_bytes for r in self.rounds), default=0)

    def missing(self) -> int:
        return sum(r.expected for r in self.rounds) - len(self.latencies)

    def timeouts(self) -> int:
        return sum(r.timeouts for r in self.rounds)

    def errors(self) -> list[str]:
        return [e for r in self.rounds for e in r.errors]


def _ms(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.2f}"


def _ratio(a: float, b: float) -> str:
    return "n/a" if math.isnan(a) or math.isnan(b) or b == 0 else f"{a / b:.1f}×"


def table(results: dict[int, dict[str, Pooled]], messages: int) -> str:
    lines = [
        "| clients | messages | baseline p50 ms | baseline p99 ms | teaminbox p50 ms | teaminbox p99 ms "
        "| ratio p50 | ratio p99 | last client p50 ms (base / ti) | POST p50 ms (base / ti) "
        "| frame bytes (base / ti) | connect s (base / ti) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, by in results.items():
        b, t = by["baseline"], by["teaminbox"]
        lines.append(
            f"| {n:,} | {messages} | {_ms(b.p(.5))} | {_ms(b.p(.99))} | {_ms(t.p(.5))} | {_ms(t.p(.99))} "
            f"| {_ratio(t.p(.5), b.p(.5))} | {_ratio(t.p(.99), b.p(.99))} "
            f"| {_ms(b.fanout_p50())} / {_ms(t.fanout_p50())} | {_ms(b.post_p50())} / {_ms(t.post_p50())} "
            f"| {b.frame_bytes()} / {t.frame_bytes()} | {b.connect_s():.1f} / {t.connect_s():.1f} |"
        )
    return "\n".join(lines)


def problems(results: dict[int, dict[str, Pooled]]) -> list[str]:
    notes = []
    for n, by in results.items():
        for name, pooled in by.items():
            if pooled.missing() or pooled.timeouts():
                notes.append(f"- {name} at {n:,} clients: {pooled.missing()} receipts missing, "
                             f"{pooled.timeouts()} messages not fully delivered within the timeout")
            for error in sorted(set(pooled.errors()))[:5]:
                notes.append(f"- {name} at {n:,} clients: client error: {error}")
    return notes


def results_document(command: str, setup: str, load: str, table_md: str, notes: list[str]) -> str:
    text = "\n".join([
        "# Fan-out latency: teaminbox vs a plain Starlette WebSocket broadcast",
        "",
        f"- Date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Machine: {os.cpu_count()} CPUs ({cpu_model()}), {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()} ({sys.implementation.name})",
        f"- Command: `{command}`",
        f"- Setup: {setup}",
        f"- Load average (1 min) at start / end: {load} (other processes on the machine count too)",
        "",
        table_md,
        "",
        "Latency = receipt (client `data_received`) − send (just before the publisher's POST), CLOCK_MONOTONIC,",
        "for every (message, client) pair, pooled over the rounds. *Last client* = per message, until the slowest",
        "client had it. *POST* = the publisher's HTTP round trip (for teaminbox: the webhook stores the message",
        "and publishes the event before answering; for the baseline: the broadcast loop runs before answering).",
        "*Connect* = mean time per round until all N clients had connection_ack and had sent subscribe.",
        "Ratio = teaminbox / baseline. Server, load-generator workers and publisher share the machine's CPUs,",
        "so at high client counts the clients compete with the server for CPU (the same for both targets).",
        *([""] + ["Problems seen:"] + notes if notes else []),
        "",
    ])
    return text
