"""Soak: two `teaminbox serve` instances on PostgreSQL + Redis, many subscribed clients,
a steady stream of inbound messages, assignments and typing signals, and one Redis
restart in the middle. Then every client's stream is checked against the durable log.

    .venv/bin/python -m bench.soak --seconds 60 --clients 200

PostgreSQL: a fresh database is created beside TEAMINBOX_SOAK_DATABASE_URL (else
TEAMINBOX_TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/teaminbox) and
dropped afterwards. Redis: a private `redis-server` on a free port, started, killed and
started again by this script (the shared one is never touched).

Each client subscribes to `inboxEvents(filter: {scope: ALL}, after: <cursor>)` with the
client document from graphql/operations, spread evenly over the instances. A client is
entitled to every stored conversation event after that cursor whose conversation was
OPEN before or after it (the soak never closes one, so: all of them). Checked per client:
losses (entitled seqs never received), duplicates, order. Latency is measured from the
event row's `created_at` (written in the change's transaction, just before commit) to
the client's receipt: both clocks are this machine's. The summary goes to bench/SOAK.md;
the exit status is 1 when anything was lost, duplicated or out of order.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.common.api import Team, conversation_of, create_team, post_inbound
from bench.common.paths import BENCH, operation
from bench.common.postgres import drop_database, scratch_database, stored_events
from bench.common.process import cli, cpu_seconds
from bench.common.redis import RedisProcess
from bench.common.servers import Server, start_instance, teaminbox_env
from bench.soak.client import SoakClient
from bench.soak.report import Run, document, verify
from bench.soak.traffic import Timeline, Traffic, redis_restart
from schema.events import event_cursor

CONVERSATION_KINDS = ("message.created", "conversation.assigned", "conversation.status_changed")
INBOX_EVENTS = operation("InboxEvents")


def database_base_url() -> str:
    return (os.environ.get("TEAMINBOX_SOAK_DATABASE_URL") or os.environ.get("TEAMINBOX_TEST_DATABASE_URL")
            or "postgres://postgres@127.0.0.1:5432/teaminbox")


async def _seed(env: dict[str, str], first: Server, args: argparse.Namespace) -> tuple[Team, list[str], list[str]]:
    """The team, and one conversation per seeded customer phone: (team, conversations, phones)."""
    async with httpx.AsyncClient(base_url=first.http_url, timeout=30) as client:
        team = await create_team(env, client, args.members)
        phones = [f"+1415555{i:04d}" for i in range(args.conversations)]
        conversations = [conversation_of(await post_inbound(client, team.account_id, team.webhook_secret,
                                                            f"seed-{phone}", "hello", phone))
                         for phone in phones]
    return team, conversations, phones


async def _subscribe(clients: list[SoakClient]) -> None:
    connecting = asyncio.Semaphore(20)

    async def start(client: SoakClient) -> None:
        async with connecting:
            await client.start()

    await asyncio.gather(*(start(client) for client in clients))


async def _drain(clients: list[SoakClient], expected: int, seconds: float) -> None:
    """Until every open client has `expected` events, or `seconds` passed."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if all(len(c.seqs) >= expected or not c.open for c in clients):
            return
        await asyncio.sleep(0.25)


async def soak(args: argparse.Namespace, log_dir: Path) -> Run:
    database_url = await scratch_database(database_base_url())
    redis = RedisProcess()
    instances: list[Server] = []
    clients: list[SoakClient] = []
    try:
        await redis.start()
        env = teaminbox_env(database_url, redis.url)
        await cli(env, "migrate")
        for i in range(args.instances):
            instances.append(await start_instance(f"instance{i + 1}", env, log_dir))
        await asyncio.gather(*(instance.wait_readyz() for instance in instances))
        team, conversations, phones = await _seed(env, instances[0], args)
        account_id = int(team.account_id)
        start_seq = max(e["seq"] for e in await stored_events(database_url, account_id))
        variables = {"filter": {"scope": "ALL"}, "after": event_cursor(start_seq)}
        clients = [SoakClient(i, instances[i % len(instances)].ws_url, team.agents[i % len(team.agents)].token,
                              INBOX_EVENTS, variables) for i in range(args.clients)]
        await _subscribe(clients)
        print(f"  {len(clients)} clients subscribed", flush=True)

        timeline = Timeline(start=time.time())
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        async with httpx.AsyncClient(timeout=30, limits=limits) as http:
            traffic = Traffic(http, instances, team, conversations, phones)
            achieved = await traffic.run(args.seconds, args.rate,
                                         lambda: redis_restart(redis, instances, args.outage, timeline))
        traffic_end = time.time()
        print(f"  traffic done: {len(traffic.ops)} operations ({achieved:.1f}/s)", flush=True)

        # Everything each client is entitled to: the log after its cursor.
        log = [e for e in await stored_events(database_url, account_id)
               if e["seq"] > start_seq and e["kind"] in CONVERSATION_KINDS
               and "OPEN" in (e["payload"].get("status"), e["payload"].get("previous_status"))]
        await _drain(clients, len(log), args.drain)
        drained = time.time()
        cpu = [cpu_seconds(instance.process.pid) for instance in instances]
    finally:
        for client in clients:
            await client.close()
        await asyncio.gather(*(instance.stop() for instance in instances))
        await redis.stop()
        if not args.keep_database:
            await drop_database(database_url)
    return Run(args, clients, traffic.ops, achieved, timeline, log, drained - traffic_end, cpu,
               "".join(instance.log_text() for instance in instances))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rate", type=float, default=5, help="operations per second (all kinds)")
    parser.add_argument("--instances", type=int, default=2)
    parser.add_argument("--members", type=int, default=8)
    parser.add_argument("--conversations", type=int, default=30, help="seeded before the clients subscribe")
    parser.add_argument("--outage", type=float, default=3, help="seconds Redis stays down")
    parser.add_argument("--drain", type=float, default=60, help="how long to wait for clients to catch up")
    parser.add_argument("--output", default=str(BENCH / "SOAK.md"))
    parser.add_argument("--keep-database", action="store_true")
    args = parser.parse_args(argv)
    log_dir = Path(tempfile.mkdtemp(prefix="teaminbox-soak-"))
    print(f"soak: {args.clients} clients, {args.seconds:.0f} s, {args.rate:g} ops/s, logs in {log_dir}", flush=True)
    run = asyncio.run(soak(args, log_dir))
    verdict = verify(run)
    report = document(run, verdict)
    print(report)
    Path(args.output).write_text(report)
    print(f"written to {args.output}")
    return 0 if verdict.exactly_once else 1


if __name__ == "__main__":
    sys.exit(main())
