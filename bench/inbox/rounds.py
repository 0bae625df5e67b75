"""Alternating rounds for bench.inbox: every target gets a warm-up and a timed wrk run
per round, in a fixed order (raw, teaminbox, PostGraphile, raw, …), so slow drifts of
a shared machine hit every target alike; ratios are taken within each round."""
from __future__ import annotations

import math
import statistics
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bench.common.servers import Server
from bench.inbox import load


@dataclass
class Target:
    name: str
    server: Server
    requests: list[dict]  # wrk request specs: {path, headers, body}
    # For writes: makes `requests` anew from the database's current state before each run.
    refresh: Callable[[Target], Awaitable[None]] | None = None

    async def ready(self) -> Target:
        if self.refresh is not None:
            await self.refresh(self)
        return self


@dataclass
class Figures:
    name: str
    runs: list[load.LoadResult] = field(default_factory=list)

    @property
    def requests(self) -> int:
        """Answered requests, failed ones included (see `errors`)."""
        return sum(run.requests for run in self.runs)

    @property
    def ok(self) -> int:
        return sum(run.requests - run.failed for run in self.runs)

    @property
    def rps(self) -> float:
        """Successful requests per second."""
        seconds = sum(run.seconds for run in self.runs)
        return self.ok / seconds if seconds else 0.0

    @property
    def p50_ms(self) -> float:
        """Median over rounds; NaN when a round answered nothing (wrk then reports 0)."""
        values = [run.p50_ms if run.requests else math.nan for run in self.runs]
        return statistics.median(values) if values and not any(map(math.isnan, values)) else math.nan

    @property
    def p99_ms(self) -> float:
        values = [run.p99_ms if run.requests else math.nan for run in self.runs]
        return statistics.median(values) if values and not any(map(math.isnan, values)) else math.nan

    @property
    def errors(self) -> int:
        return sum(run.errors for run in self.runs)

    @property
    def server_cpu_ms(self) -> float | None:
        """Server process CPU per request (excludes PostgreSQL's)."""
        known = [run.server_cpu_s for run in self.runs if run.server_cpu_s is not None]
        if len(known) < len(self.runs) or not self.requests:
            return None
        return 1000 * sum(known) / self.requests

    @property
    def load_cpu_share(self) -> float:
        """wrk's CPU time over wall time (1.0 = one core busy)."""
        seconds = sum(run.seconds for run in self.runs)
        return sum(run.load_cpu_s for run in self.runs) / seconds if seconds else 0.0


def ratio(a: Figures, b: Figures) -> float:
    """Median over rounds of a's throughput / b's (same round, so same machine state)."""
    values = [x.rps / y.rps for x, y in zip(a.runs, b.runs, strict=True) if y.rps]
    return statistics.median(values) if values else float("nan")


async def alternate(targets: list[Target], *, connections: int, seconds: float, warmup: float, rounds: int,
                    log=print) -> dict[str, Figures]:
    figures = {target.name: Figures(target.name) for target in targets}
    for number in range(rounds):
        for target in targets:
            pid = target.server.process.pid
            if warmup > 0:
                await load.run(target.server.http_url, (await target.ready()).requests, connections=connections,
                                seconds=warmup, server_pid=pid)
            result = await load.run(target.server.http_url, (await target.ready()).requests,
                                     connections=connections, seconds=seconds, server_pid=pid)
            figures[target.name].runs.append(result)
            log(f"    round {number + 1}/{rounds} c={connections} {target.name}: {result.rps:,.0f} req/s, "
                f"p50 {result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms, errors {result.errors}")
    return figures
