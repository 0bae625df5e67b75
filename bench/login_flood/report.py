"""bench.login_flood's tables and bench/LOGIN.md."""
from __future__ import annotations

import math
import os
import platform
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from bench.common.report import cpu_model, percentile
from bench.login_flood.attempts import DROPPED, OK, QUEUE_FULL, THROTTLED, WRONG, Answer
from bench.login_flood.phases import FloodPhase
from resolvers.passwords import MAX_WAITING_HASHES

REFUSED = (THROTTLED, QUEUE_FULL)
EXPLANATION = """\
The colleague logs in again and again, each try once the previous one is answered, from the address
they always use; latencies are of the tries that logged in (the refused ones are counted, not timed).
*Baseline* pools the quiet phases before, between and after the floods; ratios are against it.
A flood sends at least its N tries and keeps going (the same client(s), the same concurrency) until
the colleague has made their tries during it (at most 60 s), so every colleague try has a flood
around it: *tries* is the whole flood, *first N answered in* how long its first N took. *Hashed*
tries were checked against a password hash (argon2, production cost) and answered
INVALID_CREDENTIALS; *refused* ones were answered TOO_MANY_ATTEMPTS without hashing, either by the
failure counts (per email and per address) or by the bounded hashing queue (its own message). The
admin logs in once midway through the single-client flood (a success forgets the email's failures,
so the flood gets its free tries again), and after it from an address never used, then from the
usual one. Server and clients share the machine's CPUs."""


@dataclass
class Run:
    quiet: list[tuple[str, list[Answer]]]  # (when, the colleague's logins), in run order
    floods: list[FloodPhase]

    @property
    def baseline(self) -> list[Answer]:
        return [answer for _, answers in self.quiet for answer in answers]


def _ms(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def _times(answers: list[Answer], *kinds: str) -> list[int]:
    return [a.ns for a in answers if a.kind in kinds]


def _count(answers: list[Answer], *kinds: str) -> int:
    return sum(a.kind in kinds for a in answers)


def _ratio(value: float, base: float) -> str:
    return "n/a" if math.isnan(value) or math.isnan(base) or base == 0 else f"{value / base:.1f}×"


def colleague_table(run: Run) -> str:
    base = _times(run.baseline, OK)
    base_p = (percentile(base, .5), percentile(base, .95), percentile(base, 1))
    lines = ["| colleague's correct login | tries | logged in | refused TOO_MANY_ATTEMPTS | no answer "
             "| p50 ms | p95 ms | max ms | p50 / baseline | p95 / baseline | max / baseline |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    rows = [(f"quiet, {when}", answers) for when, answers in run.quiet]
    rows.insert(len(run.quiet), ("**baseline** (the quiet rows together)", run.baseline))
    rows += [(f"during the {phase.name} flood", phase.colleague) for phase in run.floods]
    for label, answers in rows:
        ok = _times(answers, OK)
        p = (percentile(ok, .5), percentile(ok, .95), percentile(ok, 1))
        ratios = " | ".join(_ratio(v, b) for v, b in zip(p, base_p, strict=True))
        lines.append(f"| {label} | {len(answers)} | {len(ok)} | {_count(answers, *REFUSED)} "
                     f"| {_count(answers, DROPPED)} "
                     f"| {' | '.join(_ms(v) for v in p)} | {ratios} |")
    return "\n".join(lines)


def flood_table(run: Run) -> str:
    lines = ["| flood | tries (concurrency) | first N answered in | whole flood | hashed: INVALID_CREDENTIALS "
             "| refused by failure count | refused by hashing queue | no answer | refused answer p50 / p99 ms "
             "| hashed answer p50 / p99 ms |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for phase in run.floods:
        answers = phase.flood.answers
        refused, hashed = _times(answers, *REFUSED), _times(answers, WRONG)
        lines.append(
            f"| {phase.name} | {len(answers):,} ({phase.concurrency}) "
            f"| {phase.minimum:,} in {phase.flood.first_seconds:.2f} s "
            f"| {phase.flood.seconds:.1f} s | {len(hashed):,} | {_count(answers, THROTTLED):,} "
            f"| {_count(answers, QUEUE_FULL):,} | {_count(answers, DROPPED):,} "
            f"| {_ms(percentile(refused, .5))} / {_ms(percentile(refused, .99))} "
            f"| {_ms(percentile(hashed, .5))} / {_ms(percentile(hashed, .99))} |")
    return "\n".join(lines)


def admin_table(run: Run) -> str:
    lines = ["| admin's right password | from | answer | retry after | ms |", "|---|---|---|---:|---:|"]
    for phase in run.floods:
        for when, where, answer in phase.admin:
            verdict = ("logged in" if answer.kind == OK else f"no answer ({answer.detail})"
                       if answer.kind == DROPPED else f"refused ({answer.kind})")
            retry = "" if answer.retry_after is None else f"{answer.retry_after} s"
            lines.append(f"| {when} the {phase.name} flood | {where} | {verdict} | {retry} | {_ms(answer.ns / 1e6)} |")
    return "\n".join(lines)


def notes(run: Run) -> list[str]:
    """How fast the server hashed under each flood, and what the tries without an answer
    failed with."""
    found = []
    for phase in run.floods:
        if not _count(phase.flood.answers, QUEUE_FULL):
            continue  # the pool was not the limit: no hashing rate to speak of
        hashed = _count(phase.flood.answers, WRONG) + _count(phase.colleague, OK)
        rate = hashed / phase.flood.seconds if phase.flood.seconds else math.nan
        found.append(f"- {phase.name} flood (the hashing queue full): {hashed:,} hashes (the flood's and the "
                     f"colleague's) in {phase.flood.seconds:.1f} s = {rate:.1f}/s; at that rate a full queue of "
                     f"{MAX_WAITING_HASHES} is {MAX_WAITING_HASHES / rate:.1f} s of waiting")
    for phase in run.floods:
        for who, answers in (("flood", phase.flood.answers), ("colleague", phase.colleague)):
            errors = Counter(a.detail for a in answers if a.kind == DROPPED)
            if errors:
                found.append(f"- {phase.name} flood, {who}: no answer "
                             + ", ".join(f"{name} ×{n}" for name, n in errors.most_common()))
    return found


def tables(run: Run) -> str:
    return "\n\n".join([colleague_table(run), flood_table(run), admin_table(run), "\n".join(notes(run))])


def document(run: Run, command: str, setup: str, load: str, seconds: float) -> str:
    return "\n".join([
        "# Login floods (issue 11 finding 2)",
        "",
        f"- Date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Machine: {os.cpu_count()} CPUs ({cpu_model()}), {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()} ({sys.implementation.name})",
        f"- Command: `{command}` ({seconds:.0f} s)",
        f"- Setup: {setup}",
        f"- Load average (1 min) at start / end: {load} (other processes on the machine count too, and so do "
        "this run's own: the server's hashing threads, the clients)",
        "",
        "Before the fix (the finding, not measured here): 200 wrong passwords for one admin from one client took",
        "20 s, every one hashed; the right password then worked at once; a colleague's correct login during the",
        "flood took 888 ms.",
        "",
        tables(run),
        "",
        *EXPLANATION.splitlines(),
        "",
    ])
