"""Publish-to-receipt latency of a new message fanned out to N WebSocket subscribers:
teaminbox next to a plain Starlette broadcast, measured in the same run.

    .venv/bin/python -m bench.fanout                  # 1, 100 and 1,000 clients, 50 messages each
    .venv/bin/python -m bench.fanout --quick          # 1 and 100 clients, 20 messages
    .venv/bin/python -m bench.fanout --clients 1,100,1000 --postgres postgres://... --redis redis://...

For each N the targets alternate (baseline, teaminbox, baseline, teaminbox, ...); each
round opens N fresh graphql-transport-ws clients in 1-2 worker processes, all watching
the same conversation, and the publisher posts messages at `--rate` (closed-loop: never
before the previous one reached every client). Prints a markdown table and writes it,
with the machine and the command, to bench/FANOUT.md. Only 127.0.0.1 traffic."""
from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import sys
import tempfile
from pathlib import Path

from bench.common.paths import BENCH, operation
from bench.common.rounds import Target, baseline_publisher, frame_template, teaminbox_publisher
from bench.common.servers import start_baseline, start_teaminbox
from bench.common.workers import raise_fd_limit
from bench.fanout.report import Pooled, problems, results_document, table
from bench.fanout.rounds import run_round


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.fanout", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 and 100 clients, 20 messages")
    parser.add_argument("--clients", help="comma-separated client counts (default 1,100,1000)")
    parser.add_argument("--messages", type=int, help="timed messages per target and N (default 50; quick 20)")
    parser.add_argument("--rate", type=float, default=10.0, help="messages per second at most (default 10)")
    parser.add_argument("--rounds", type=int, default=2, help="alternations per N (messages split over them)")
    parser.add_argument("--workers", type=int, default=0,
                        help="client processes (default: 1 up to 100 clients, else 2)")
    parser.add_argument("--members", type=int, default=4,
                        help="agents logged in besides the admin; clients share their tokens")
    parser.add_argument("--subscription", choices=["conversation", "inbox"], default="conversation",
                        help="ConversationEvents on the thread (default) or InboxEvents (OPEN, ALL)")
    parser.add_argument("--no-deflate", action="store_true", help="clients do not offer permessage-deflate")
    parser.add_argument("--message-timeout", type=float, default=15.0,
                        help="seconds for one message to reach all clients")
    parser.add_argument("--postgres", help="teaminbox database URL (default: a SQLite temp file)")
    parser.add_argument("--redis", help="teaminbox bus URL (default: memory://)")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds for the whole run")
    parser.add_argument("--output", type=Path, default=BENCH / "FANOUT.md")
    args = parser.parse_args(argv)
    args.client_counts = [int(c) for c in (args.clients or ("1,100" if args.quick else "1,100,1000")).split(",")]
    args.messages = args.messages or (20 if args.quick else 50)
    if min(args.client_counts) < 1 or args.messages < 1 or args.rounds < 1 or args.rate <= 0:
        parser.error("client counts, --messages, --rounds and --rate must be positive")
    return args


def subscription(kind: str, conversation_id: str) -> tuple[dict, str]:
    if kind == "inbox":
        return {"query": operation("InboxEvents"),
                "variables": {"filter": {"status": "OPEN", "scope": "ALL"}}}, "inboxEvents"
    return {"query": operation("ConversationEvents"),
            "variables": {"conversationId": conversation_id}}, "conversationEvents"


async def run(args: argparse.Namespace) -> tuple[str, str]:
    """(what to print, the text of bench/FANOUT.md)."""
    results: dict[int, dict[str, Pooled]] = {}
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="teaminbox-bench-") as workdir:
        servers = []
        try:
            baseline = await start_baseline(Path(workdir))
            servers.append(baseline)
            teaminbox = await start_teaminbox(Path(workdir), args.postgres, args.redis, args.members)
            servers.append(teaminbox)
            subscribe, field = subscription(args.subscription, teaminbox.conversation_id)
            targets = [
                Target("baseline", baseline, ["unused"], subscribe,
                       baseline_publisher(frame_template(args.subscription, field, teaminbox.conversation_id))),
                Target("teaminbox", teaminbox, teaminbox.tokens, subscribe, teaminbox_publisher(teaminbox)),
            ]
            for n in args.client_counts:
                results[n] = {t.name: Pooled() for t in targets}
                workers = args.workers or (1 if n <= 100 else 2)
                per_round = [args.messages // args.rounds + (1 if r < args.messages % args.rounds else 0)
                             for r in range(args.rounds)]
                for r, messages in enumerate(m for m in per_round if m):
                    for target in targets:
                        print(f"  {n:>5} clients, round {r + 1}/{args.rounds}: {target.name} ({messages} messages)",
                              file=sys.stderr, flush=True)
                        outcome = await run_round(target, n, messages, args.rate, workers,
                                                  not args.no_deflate, args.message_timeout)
                        results[n][target.name].rounds.append(outcome)
        except BaseException:
            for server in servers:
                print(f"--- {server.name} log (tail) ---\n{server.log_tail()}", file=sys.stderr)
            raise
        finally:
            for server in servers:
                await server.stop()
    backend = (f"teaminbox on {'PostgreSQL' if args.postgres else 'SQLite (temp file)'} + "
               f"{'Redis' if args.redis else 'memory://'} bus")
    setup = (f"{backend}; {args.subscription}Events subscription; {args.members + 1} member tokens shared by the "
             f"clients; permessage-deflate {'off' if args.no_deflate else 'offered by clients'}; "
             f"{args.messages} messages per target and N in {args.rounds} alternating rounds, at most "
             f"{args.rate:g}/s; client workers: {args.workers or '1 (≤100 clients) or 2'}")
    table_md = table(results, args.messages)
    command = " ".join([".venv/bin/python -m bench.fanout", *map(shlex.quote, sys.argv[1:])])
    load = f"{load_start:.2f} / {os.getloadavg()[0]:.2f}"
    text = results_document(command, setup, load, table_md, problems(results))
    return table_md + "".join("\n" + note for note in problems(results)), text


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    raise_fd_limit(max(args.client_counts) * 2 + 256)
    summary, text = asyncio.run(asyncio.wait_for(run(args), args.timeout))
    args.output.write_text(text)
    print(summary)
    print(f"\nwritten to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
