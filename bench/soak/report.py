"""What the soak found: every client's stream checked against the log (losses, duplicates,
order), latencies split by the outage, and bench/SOAK.md."""
from __future__ import annotations

import argparse
import itertools
import os
import platform
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bench.soak.client import SoakClient
from bench.soak.traffic import Op, Timeline


@dataclass
class Run:
    """What the soak saw, for the verdict and the report."""
    args: argparse.Namespace
    clients: list[SoakClient]
    ops: list[Op]
    achieved: float  # operations per second
    timeline: Timeline
    log: list[dict]  # the stored events every client was entitled to, in seq order
    drain_seconds: float
    cpu_seconds: list[float]  # per instance
    instance_logs: str


@dataclass
class Verdict:
    losses: int = 0
    lossy_clients: int = 0
    duplicates: int = 0
    disorder: int = 0
    extra: int = 0
    latencies: list[float] = field(default_factory=list)
    during_outage: list[float] = field(default_factory=list)
    outside_outage: list[float] = field(default_factory=list)

    @property
    def exactly_once(self) -> bool:
        return self.losses == self.duplicates == self.disorder == self.extra == 0


def outage_window(timeline: Timeline) -> tuple[float, float]:
    return timeline.redis_killed or 0.0, timeline.recovered or timeline.redis_started or 0.0


def verify(run: Run) -> Verdict:
    expected = {e["seq"] for e in run.log}
    created = {e["seq"]: e["created_at"].timestamp() for e in run.log}
    outage_from, outage_to = outage_window(run.timeline)
    verdict = Verdict()
    for client in run.clients:
        seqs = list(client.seqs)
        missing = len(expected - set(seqs))
        verdict.losses += missing
        verdict.lossy_clients += bool(missing)
        verdict.duplicates += len(seqs) - len(set(seqs))
        verdict.disorder += sum(1 for a, b in itertools.pairwise(seqs) if b <= a)
        verdict.extra += len(set(seqs) - expected)
        for seq, at in zip(seqs, client.received_at, strict=True):
            if seq in created:
                latency = at - created[seq]
                verdict.latencies.append(latency)
                written_during_outage = outage_from <= created[seq] <= outage_to
                (verdict.during_outage if written_during_outage else verdict.outside_outage).append(latency)
    return verdict


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {"p50": at(0.50), "p90": at(0.90), "p99": at(0.99), "p99.9": at(0.999), "max": ordered[-1]}


def fmt_ms(stats: dict[str, float]) -> str:
    return " · ".join(f"{name} {value * 1000:.0f} ms" for name, value in stats.items()) or "n/a"


def _tally(ops: list[Op]) -> str:
    return ", ".join(f"{kind} {outcome} {n}" for (kind, outcome), n in sorted(Counter((o.kind, o.outcome)
                                                                                      for o in ops).items()))


def document(run: Run, verdict: Verdict) -> str:
    args, clients, timeline = run.args, run.clients, run.timeline
    outage_from, outage_to = outage_window(timeline)
    spread = Counter(c.url for c in clients)
    received = sum(len(c.seqs) for c in clients)
    typing, counts = sum(c.typing for c in clients), sum(c.counts for c in clients)
    closed_early = sum(1 for c in clients if c.close_code is not None and c.close_code != 1000)
    kinds = Counter(e["kind"] for e in run.log)
    lines = [
        "# Soak: two instances, PostgreSQL + Redis, one Redis restart",
        "",
        f"Command: `.venv/bin/python -m bench.soak --seconds {args.seconds:g} --clients {args.clients}` "
        f"(rate {args.rate:g} ops/s, {args.members} agents, {args.conversations} seeded conversations, "
        f"Redis down {args.outage:g} s). Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, load average at the end "
        f"{' / '.join(f'{x:.1f}' for x in os.getloadavg())} (shared machine).",
        "",
        "| | |",
        "| --- | --- |",
        f"| instances | {args.instances}, clients spread {', '.join(str(n) for n in spread.values())} |",
        f"| operations | {len(run.ops)} in {args.seconds:g} s ({run.achieved:.1f}/s): {_tally(run.ops)} |",
        "| operations while Redis was down | "
        + (_tally([op for op in run.ops if outage_from <= op.at <= outage_to]) or "none") + " |",
        f"| stored events each client was entitled to | {len(run.log)} ("
        + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())) + ") |",
        f"| stored events received (all clients) | {received} of {len(run.log) * len(clients)} |",
        f"| **losses** | **{verdict.losses}** ({verdict.lossy_clients} clients) |",
        f"| **duplicates** | **{verdict.duplicates}** |",
        f"| out of order | {verdict.disorder} |",
        f"| unexpected (not entitled) | {verdict.extra} |",
        f"| ResyncRequired | {sum(c.resyncs for c in clients)} |",
        f"| TypingChanged / InboxCountsChanged received | {typing} / {counts} |",
        f"| subscription errors / sockets closed early | {sum(len(c.errors) for c in clients)} / {closed_early} |",
        f"| Redis outage | killed at +{outage_from - timeline.start:.1f} s, started at "
        f"+{(timeline.redis_started or 0) - timeline.start:.1f} s, both instances ready at "
        f"+{outage_to - timeline.start:.1f} s; /readyz during the outage: {timeline.readyz_during_outage} |",
        f"| publish failures logged / bus reconnects logged | {run.instance_logs.count('could not publish')} / "
        f"{run.instance_logs.count('event bus reconnected')} |",
        f"| latency, event written → client receipt, all | {fmt_ms(percentiles(verdict.latencies))} |",
        f"| latency, events written outside the outage | {fmt_ms(percentiles(verdict.outside_outage))} |",
        f"| latency, events written during the outage | {fmt_ms(percentiles(verdict.during_outage))} |",
        f"| drain after traffic stopped | {run.drain_seconds:.1f} s |",
        f"| instance CPU time (whole run, incl. start-up) | {', '.join(f'{c:.1f} s' for c in run.cpu_seconds)} for "
        f"{received + typing + counts} subscription results sent |",
        "",
        "How to read it: every client subscribes before the traffic with the log's end as its cursor, so it is "
        "entitled to every stored conversation event after it (all conversations stay OPEN). Losses, duplicates "
        "and order are checked per client against the `event` table. Latency runs from the event row's "
        "`created_at` (written just before commit) to the client's receipt, on one machine's clock; events "
        "written while Redis was down reach clients when the bus is back (they replay from the log), hence "
        "their own line. Typing signals fail while Redis is down (typing presence lives there); assignments "
        "and inbound messages keep committing to PostgreSQL.",
        "",
    ]
    failures = Counter(f"{op.kind}: {op.detail}" for op in run.ops if op.outcome == "failed")
    if failures:
        lines += ["Failed operations (kind: answer, count):", ""]
        lines += [f"- {detail} ×{n}" for detail, n in failures.most_common(8)]
        lines.append("")
    return "\n".join(lines)
