"""HTTP benchmarks of the inbox (issue 5): teaminbox next to a raw Starlette + asyncpg +
orjson server and PostGraphile 5, measured in the same run, alternating.

    .venv/bin/python -m bench.inbox                 # 10k, 100k, 1M conversations; 3 rounds x 10 s
    .venv/bin/python -m bench.inbox --quick         # 10k and 100k; 1 round x 5 s (a few minutes once seeded)
    .venv/bin/python -m bench.inbox --scales 10000,100000 --rounds 2 --seconds 8

Needs PostgreSQL and Redis (defaults: 127.0.0.1), wrk, and npm (PostGraphile 5 and Node 22
are installed from the npm registry into ~/.cache/teaminbox-bench once). Each scale has
its own database, `<--database-prefix>_10k` etc., seeded once by bench.seed and reused.
Prints the targets table; writes the details to bench/INBOX.md. How it measures:
bench/README.md."""
from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from bench.common.paths import BENCH
from bench.common.targets import TargetRow, markdown
from bench.inbox import databases, report
from bench.inbox.checks import Checks, sql_work, verify_assignment, verify_inbox_view
from bench.inbox.load import wrk_path
from bench.inbox.report import label
from bench.inbox.rounds import alternate, ratio
from bench.inbox.servers import Servers

DEFAULT_PREFIX = "postgres://postgres@127.0.0.1:5432/teaminbox_bench_inbox"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
FULL_SCALES = (10_000, 100_000, 1_000_000)
QUICK_SCALES = (10_000, 100_000)
MAIN_SCALE = 100_000
ASSIGN_CONNECTIONS = 16


async def measure(quick: bool, *, scales: tuple[int, ...] | None = None, database_prefix: str = DEFAULT_PREFIX,
                  redis_url: str = DEFAULT_REDIS, rounds: int | None = None, seconds: float | None = None,
                  warmup: float | None = None, pool: int = 10, output: Path | None = BENCH / "INBOX.md",
                  command: str = "python -m bench.inbox", log=print) -> list[TargetRow]:
    wrk_path()  # fail early, before seeding
    scales = tuple(sorted(scales or (QUICK_SCALES if quick else FULL_SCALES)))
    rounds = rounds or (1 if quick else 3)
    seconds = seconds or (5.0 if quick else 10.0)
    warmup = (1.0 if quick else 2.0) if warmup is None else warmup
    main_scale = MAIN_SCALE if MAIN_SCALE in scales else scales[-1]
    run = report.Run(command=command, quick=quick, scales=scales, rounds=rounds, seconds=seconds, warmup=warmup,
                     pool=pool, started=time.time())
    checks = Checks()
    with tempfile.TemporaryDirectory(prefix="bench-inbox-") as tmp:
        for conversations in scales:
            log(f"== {label(conversations)} conversations")
            account = await databases.ensure_seeded(databases.scale_url(database_prefix, conversations),
                                                    conversations, log=log)
            assignee, held = await databases.busiest_assignee(account.database_url, account.account_id)
            log(f"   account {account.account_id}, page of member {assignee} ({held:,} OPEN conversations)")
            workdir = Path(tmp) / label(conversations)
            workdir.mkdir()
            async with Servers(account, workdir, redis_url=redis_url, pool=pool, log=log) as servers:
                view = servers.inbox_view_targets(assignee, viewer=assignee)
                checks.view[conversations] = await verify_inbox_view(servers, assignee, viewer=assignee)
                log(f"   verified: {checks.view[conversations]}")
                for connections in ((1, 16, 64) if conversations == main_scale else (1,)):
                    log(f"   inbox view, c={connections}")
                    run.view[(conversations, connections)] = await alternate(
                        view, connections=connections, seconds=seconds, warmup=warmup, rounds=rounds, log=log)
                counts = servers.counts_targets(viewer=assignee)
                log("   inboxCounts, c=1")
                run.counts[conversations] = await alternate(counts, connections=1, seconds=seconds, warmup=warmup,
                                                            rounds=rounds, log=log)
                for name, work in (await sql_work(account.database_url, counts, count=100)).items():
                    run.counts_sql[(conversations, name)] = work
                if conversations == main_scale:
                    await _assignment(run, checks, servers, account, seconds, warmup, rounds, log)
    run.finished = time.time()
    rows = target_rows(run, main_scale)
    if output is not None:
        await asyncio.to_thread(output.write_text, report.markdown_report(run, checks, rows, markdown(rows)))
        log(f"wrote {output}")
    return rows


async def _assignment(run, checks, servers, account, seconds, warmup, rounds, log) -> None:
    conversations = await databases.open_conversations(account.database_url, account.account_id, 1024)
    targets = servers.assignment_targets(conversations)
    checks.assignment = await verify_assignment(targets[1], targets[0])
    log(f"   verified: {checks.assignment}")
    run.assign_sql = await sql_work(account.database_url, targets[:2], count=50)  # raw-nolock writes as raw
    log(f"   assignConversation, c={ASSIGN_CONNECTIONS}")
    run.assign = await alternate(targets, connections=ASSIGN_CONNECTIONS, seconds=seconds, warmup=warmup,
                                 rounds=rounds, log=log)
    checks.counters_consistent = await databases.counters_consistent(account.database_url, account.account_id)
    log(f"   inbox_count consistent with conversations after the writes: {checks.counters_consistent}")


def target_rows(run: report.Run, main_scale: int) -> list[TargetRow]:
    rows = []
    path = f"inbox page (InboxView), PostgreSQL, {label(main_scale)} conversations"
    c16 = run.view.get((main_scale, 16))
    if c16:
        ours, peer, raw = c16["teaminbox"], c16["postgraphile"], c16["raw"]
        r_peer, r_raw = ratio(ours, peer), ratio(ours, raw)
        rows.append(TargetRow(path, "throughput at concurrency 16 vs PostGraphile 5", "≥ 1.0×",
                              f"{r_peer:.2f}× ({ours.rps:,.0f} vs {peer.rps:,.0f} req/s)", r_peer >= 1.0))
        rows.append(TargetRow(path, "throughput at concurrency 16 vs raw Starlette + asyncpg", "≥ 0.33×",
                              f"{r_raw:.2f}× ({ours.rps:,.0f} vs {raw.rps:,.0f} req/s)", r_raw >= 0.33))
    c1 = run.view.get((main_scale, 1))
    if c1:
        p50 = c1["teaminbox"].p50_ms
        peers = f"raw {report.ms(c1['raw'].p50_ms)}, PostGraphile {report.ms(c1['postgraphile'].p50_ms)}"
        rows.append(TargetRow(path, "p50 at concurrency 1", "≤ 3 ms", f"{report.ms(p50)} ms ({peers})", p50 <= 3.0))
    p50s = {scale: run.view[(scale, 1)]["teaminbox"].p50_ms for scale in run.scales if (scale, 1) in run.view}
    if len(p50s) >= 2:
        low, high = min(p50s), max(p50s)
        growth = p50s[high] / p50s[low]
        steps = " → ".join(f"{report.ms(p50s[s])} ms ({label(s)})" for s in sorted(p50s))
        raw_p50s = {scale: run.view[(scale, 1)]["raw"].p50_ms for scale in p50s}
        steps += f"; raw {raw_p50s[high] / raw_p50s[low]:.2f}× in the same run"
        complete = low <= 10_000 and high >= 1_000_000
        rows.append(TargetRow(f"inbox page, {label(low)} → {label(high)} conversations", "p50 growth (c=1)",
                              "≤ 1.5× from 10k to 1M", f"{growth:.2f}×: {steps}" + ("" if complete else
                              " (1M not measured: not a verdict)"), (growth <= 1.5) if complete else None))
    if run.counts:
        rows.append(_counts_row(run))
    if run.assign:
        ours, raw = run.assign["teaminbox"], run.assign["raw"]
        r = ratio(ours, raw)
        nolock = run.assign.get("raw-nolock")
        extra = f"; raw without the advisory lock {nolock.rps:,.0f} req/s" if nolock else ""
        rows.append(TargetRow("assignment mutation (assignConversation)",
                              f"throughput at concurrency {ASSIGN_CONNECTIONS} vs raw asyncpg transaction + PUBLISH",
                              "≥ 0.5×", f"{r:.2f}× ({ours.rps:,.0f} vs {raw.rps:,.0f} req/s{extra})", r >= 0.5))
    return rows


def _counts_row(run: report.Run) -> TargetRow:
    scales = sorted(run.counts)
    p50 = " / ".join(report.ms(run.counts[s]["teaminbox"].p50_ms) for s in scales)
    work = [run.counts_sql[(s, "teaminbox")] for s in scales if (s, "teaminbox") in run.counts_sql]
    if work and len(work) == len(scales):
        # Flat: the conversation rows a request reads do not grow with the conversations
        # (a GROUP BY over them would read every one of the status).
        read = [w["conversation_rows"] for w in work]
        flat = max(read) <= 1.2 * min(read) + 1

        def each(key: str, digits: int = 0) -> str:
            return " / ".join(f"{w[key]:.{digits}f}" for w in work)

        detail = (f"; per request: conversation rows read {each('conversation_rows')}, rows read in all tables "
                  f"{each('rows')}, scans {each('scans', 1)}")
    else:
        flat, detail = None, ""
    labels = " / ".join(label(s) for s in scales)
    return TargetRow("`inboxCounts`", "cost per request across scales", "independent of the number of conversations",
                     f"p50 {p50} ms at {labels}{detail}", flat)
