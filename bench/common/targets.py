"""One row of the issue-5 targets table, as every benchmark module reports it, so
`bench.suite` can print and write one table for the whole suite."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TargetRow:
    path: str  # e.g. "inbox page, PostgreSQL, 100k conversations"
    measure: str  # e.g. "throughput at concurrency 16 vs PostGraphile 5"
    target: str  # e.g. "≥ 1.0×"
    result: str  # the measured figures, e.g. "1.4× (2,310 vs 1,650 req/s)"
    met: bool | None  # None: reported, no pass/fail (or not measured: say why in result)


def markdown(rows: list[TargetRow]) -> str:
    lines = ["| path | measure | target | result | met |", "| --- | --- | --- | --- | --- |"]
    for row in rows:
        verdict = {True: "yes", False: "**no**", None: "–"}[row.met]
        lines.append(f"| {row.path} | {row.measure} | {row.target} | {row.result} | {verdict} |")
    return "\n".join(lines) + "\n"
