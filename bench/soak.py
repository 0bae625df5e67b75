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
import platform
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench._soak_client import SoakClient
from schema.events import event_cursor
from tests.instances import (
    Instance,
    RedisServer,
    create_team,
    drop_database,
    gql,
    instance_env,
    migrated_database,
    operation,
    post_inbound,
    stored_events,
)

ROOT = Path(__file__).resolve().parent.parent
CONVERSATION_KINDS = ("message.created", "conversation.assigned", "conversation.status_changed")
ASSIGN = operation("AssignConversation")
SET_TYPING = operation("SetTyping")
INBOX_EVENTS = operation("InboxEvents")


def database_base_url() -> str:
    return (os.environ.get("TEAMINBOX_SOAK_DATABASE_URL") or os.environ.get("TEAMINBOX_TEST_DATABASE_URL")
            or "postgres://postgres@127.0.0.1:5432/teaminbox")


@dataclass
class Op:
    kind: str
    instance: int
    at: float
    outcome: str  # ok | conflict | failed
    detail: str = ""


@dataclass
class Timeline:
    start: float = 0.0
    redis_killed: float | None = None
    redis_started: float | None = None
    recovered: float | None = None
    readyz_during_outage: list[int] = field(default_factory=list)


class Traffic:
    def __init__(self, http: httpx.AsyncClient, instances: list[Instance], team, conversations: list[str],
                 phones: list[str], timeline: Timeline) -> None:
        self.http = http
        self.instances = instances
        self.team = team
        self.conversations = conversations
        self.phones = phones
        self.timeline = timeline
        self.ops: list[Op] = []
        self.members = list(team.members.values())
        self._random = random.Random(7)

    async def one(self) -> None:
        roll = self._random.random()
        index = self._random.randrange(len(self.instances))
        base = self.instances[index].http_url
        started = time.time()
        try:
            if roll < 0.4:
                kind, (outcome, detail) = "inbound", await self._inbound(base)
            elif roll < 0.75:
                kind, (outcome, detail) = "assign", await self._assign(base)
            else:
                kind, (outcome, detail) = "typing", await self._typing(base)
            self.ops.append(Op(kind, index, started, outcome, detail))
        except Exception as error:
            self.ops.append(Op("?", index, started, "failed", repr(error)[:200]))

    async def _inbound(self, base: str) -> tuple[str, str]:
        new = self._random.random() < 0.25
        phone = f"+1415{self._random.randrange(2000000, 9999999)}" if new else self._random.choice(self.phones)
        response = await post_inbound(self.http, base, self.team, phone, f"soak-{uuid.uuid4().hex}", "soak message")
        if response.status_code != 200:
            return "failed", f"{response.status_code} {response.text[:200]}"
        if new:
            self.phones.append(phone)
            self.conversations.append(response.json()["conversationId"])
        return "ok", ""

    async def _assign(self, base: str) -> tuple[str, str]:
        assignee = self._random.choice([*self.members, None])
        result = await gql(self.http, base, ASSIGN, {
            "conversationId": self._random.choice(self.conversations),
            "assigneeId": assignee.id if assignee else None}, token=self.team.admin.token)
        if result.get("errors"):
            return "failed", str(result["errors"])[:200]
        errors = result["data"]["assignConversation"]["userErrors"]
        return ("ok" if not errors else "conflict" if errors[0]["code"] == "ASSIGNMENT_CONFLICT" else "failed",
                str(errors)[:200])

    async def _typing(self, base: str) -> tuple[str, str]:
        member = self._random.choice(self.members)
        result = await gql(self.http, base, SET_TYPING, {
            "conversationId": self._random.choice(self.conversations),
            "isTyping": self._random.random() < 0.8}, token=member.token)
        ok = not result.get("errors") and not result["data"]["setTyping"]["userErrors"]
        return ("ok", "") if ok else ("failed", str(result.get("errors") or result["data"]["setTyping"])[:200])

    async def run(self, seconds: float, rate: float, on_half) -> float:
        """Start one operation every 1/rate s (at most 32 in flight) for `seconds`;
        calls `on_half()` (in the background) halfway. Returns the achieved rate."""
        in_flight = asyncio.Semaphore(32)
        tasks: set[asyncio.Task] = set()
        begin = time.monotonic()
        half: asyncio.Task | None = None
        started = 0
        while (elapsed := time.monotonic() - begin) < seconds:
            if half is None and elapsed >= seconds / 2:
                half = asyncio.create_task(on_half())
            await in_flight.acquire()
            task = asyncio.create_task(self.one())
            task.add_done_callback(lambda _: in_flight.release())
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            started += 1
            await asyncio.sleep(max(0.0, begin + started / rate - time.monotonic()))
        await asyncio.gather(*tasks)
        if half is not None:
            await half
        return started / (time.monotonic() - begin)


async def redis_restart(redis_server: RedisServer, instances: list[Instance], outage: float, timeline: Timeline) -> None:
    redis_server.kill()
    timeline.redis_killed = time.time()
    print(f"  redis killed at +{timeline.redis_killed - timeline.start:.1f}s", flush=True)
    await asyncio.sleep(min(1.0, outage / 2))
    for instance in instances:
        timeline.readyz_during_outage.append((await instance.readyz())[0])
    await asyncio.sleep(max(0.0, outage - min(1.0, outage / 2)))
    redis_server.start()
    timeline.redis_started = time.time()
    for instance in instances:
        await instance.wait_readyz(200, 30)
    timeline.recovered = time.time()
    print(f"  redis started at +{timeline.redis_started - timeline.start:.1f}s, instances ready again at "
          f"+{timeline.recovered - timeline.start:.1f}s", flush=True)


def process_cpu_seconds(instance: Instance) -> float:
    """User + system CPU time the instance process has used so far (Linux)."""
    try:
        fields = Path(f"/proc/{instance.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError, AttributeError):
        return float("nan")


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {"p50": at(0.50), "p90": at(0.90), "p99": at(0.99), "p99.9": at(0.999), "max": ordered[-1]}


def fmt_ms(stats: dict[str, float]) -> str:
    return " · ".join(f"{name} {value * 1000:.0f} ms" for name, value in stats.items()) or "n/a"


async def soak(args: argparse.Namespace) -> int:
    log_dir = Path(tempfile.mkdtemp(prefix="teaminbox-soak-"))
    print(f"soak: {args.clients} clients, {args.seconds:.0f} s, {args.rate:g} ops/s, logs in {log_dir}", flush=True)
    database_url = await migrated_database(database_base_url())
    redis_server = RedisServer()
    redis_server.start()
    env = instance_env(database_url, redis_server.url)
    instances = [Instance(env, log_dir, f"instance{i + 1}") for i in range(args.instances)]
    clients: list[SoakClient] = []
    try:
        for instance in instances:
            instance.start()
        await asyncio.gather(*(instance.wait_ready() for instance in instances))
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        async with httpx.AsyncClient(timeout=30, limits=limits) as http:
            names = tuple(f"agent{i}" for i in range(args.members))
            team = await create_team(http, env, instances[0].http_url, names=names)
            phones = [f"+1415555{i:04d}" for i in range(args.conversations)]
            conversations = []
            for phone in phones:
                response = await post_inbound(http, instances[0].http_url, team, phone, f"seed-{phone}", "hello")
                conversations.append(response.json()["conversationId"])
            start_seq = max(e["seq"] for e in await stored_events(database_url, team.account_id))
            variables = {"filter": {"scope": "ALL"}, "after": event_cursor(start_seq)}
            members = list(team.members.values())
            clients = [SoakClient(i, instances[i % len(instances)].ws_url, members[i % len(members)].token,
                                  INBOX_EVENTS, variables) for i in range(args.clients)]
            connecting = asyncio.Semaphore(20)

            async def start(client: SoakClient) -> None:
                async with connecting:
                    await client.start()

            await asyncio.gather(*(start(client) for client in clients))
            print(f"  {len(clients)} clients subscribed", flush=True)

            timeline = Timeline(start=time.time())
            traffic = Traffic(http, instances, team, conversations, phones, timeline)
            achieved = await traffic.run(args.seconds, args.rate,
                                         lambda: redis_restart(redis_server, instances, args.outage, timeline))
            traffic_end = time.time()
            print(f"  traffic done: {len(traffic.ops)} operations ({achieved:.1f}/s)", flush=True)

            # Everything each client is entitled to: the log after its cursor.
            log = [e for e in await stored_events(database_url, team.account_id)
                   if e["seq"] > start_seq and e["kind"] in CONVERSATION_KINDS
                   and "OPEN" in (e["payload"].get("status"), e["payload"].get("previous_status"))]
            expected = [e["seq"] for e in log]
            created = {e["seq"]: e["created_at"].timestamp() for e in log}
            deadline = time.monotonic() + args.drain
            while time.monotonic() < deadline:
                if all(len(c.seqs) >= len(expected) or not c.open for c in clients):
                    break
                await asyncio.sleep(0.25)
            drained = time.time()
            cpu = [process_cpu_seconds(instance) for instance in instances]
    finally:
        for client in clients:
            await client.close()
        await asyncio.gather(*(instance.terminate() for instance in instances))
        redis_server.kill()
        if not args.keep_database:
            await drop_database(database_url)

    # Verification.
    expected_set = set(expected)
    losses = duplicates = disorder = extra = 0
    lossy_clients = 0
    latencies: list[float] = []
    latencies_steady: list[float] = []
    latencies_outage: list[float] = []
    outage_from = timeline.redis_killed or 0.0
    outage_to = timeline.recovered or timeline.redis_started or 0.0
    for client in clients:
        seqs = list(client.seqs)
        missing = len(expected_set - set(seqs))
        losses += missing
        lossy_clients += bool(missing)
        duplicates += len(seqs) - len(set(seqs))
        disorder += sum(1 for a, b in zip(seqs, seqs[1:]) if b <= a)
        extra += len(set(seqs) - expected_set)
        for seq, at in zip(seqs, client.received_at):
            if seq in created:
                latency = at - created[seq]
                latencies.append(latency)
                (latencies_outage if outage_from <= created[seq] <= outage_to else latencies_steady).append(latency)
    ops = Counter((op.kind, op.outcome) for op in traffic.ops)
    during = Counter((op.kind, op.outcome) for op in traffic.ops if outage_from <= op.at <= outage_to)
    logs = "".join(instance.log_text() for instance in instances)
    result = {
        "clients": len(clients),
        "per_instance": Counter(c.url for c in clients),
        "events": len(expected),
        "received": sum(len(c.seqs) for c in clients),
        "losses": losses, "lossy_clients": lossy_clients, "duplicates": duplicates, "out_of_order": disorder,
        "unexpected": extra, "resyncs": sum(c.resyncs for c in clients),
        "typing": sum(c.typing for c in clients), "counts": sum(c.counts for c in clients),
        "closed_early": sum(1 for c in clients if c.close_code is not None and c.close_code != 1000),
        "client_errors": sum(len(c.errors) for c in clients),
    }
    kinds = Counter(e["kind"] for e in log)
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
        f"| instances | {len(instances)}, clients spread {', '.join(str(n) for n in result['per_instance'].values())} |",
        f"| operations | {len(traffic.ops)} in {args.seconds:g} s ({achieved:.1f}/s): "
        + ", ".join(f"{kind} {outcome} {n}" for (kind, outcome), n in sorted(ops.items())) + " |",
        "| operations while Redis was down | " + (", ".join(f"{kind} {outcome} {n}" for (kind, outcome), n
                                                         in sorted(during.items())) or "none") + " |",
        f"| stored events each client was entitled to | {len(expected)} ("
        + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())) + ") |",
        f"| stored events received (all clients) | {result['received']} of {len(expected) * len(clients)} |",
        f"| **losses** | **{losses}** ({lossy_clients} clients) |",
        f"| **duplicates** | **{duplicates}** |",
        f"| out of order | {disorder} |",
        f"| unexpected (not entitled) | {extra} |",
        f"| ResyncRequired | {result['resyncs']} |",
        f"| TypingChanged / InboxCountsChanged received | {result['typing']} / {result['counts']} |",
        f"| subscription errors / sockets closed early | {result['client_errors']} / {result['closed_early']} |",
        f"| Redis outage | killed at +{outage_from - timeline.start:.1f} s, started at "
        f"+{(timeline.redis_started or 0) - timeline.start:.1f} s, both instances ready at "
        f"+{outage_to - timeline.start:.1f} s; /readyz during the outage: {timeline.readyz_during_outage} |",
        f"| publish failures logged / bus reconnects logged | {logs.count('could not publish')} / "
        f"{logs.count('event bus reconnected')} |",
        f"| latency, event written → client receipt, all | {fmt_ms(percentiles(latencies))} |",
        f"| latency, events written outside the outage | {fmt_ms(percentiles(latencies_steady))} |",
        f"| latency, events written during the outage | {fmt_ms(percentiles(latencies_outage))} |",
        f"| drain after traffic stopped | {drained - traffic_end:.1f} s |",
        f"| instance CPU time (whole run, incl. start-up) | {', '.join(f'{c:.1f} s' for c in cpu)} for "
        f"{result['received'] + result['typing'] + result['counts']} subscription results sent |",
        "",
    ]
    lines += [
        "How to read it: every client subscribes before the traffic with the log's end as its cursor, so it is "
        "entitled to every stored conversation event after it (all conversations stay OPEN). Losses, duplicates "
        "and order are checked per client against the `event` table. Latency runs from the event row's "
        "`created_at` (written just before commit) to the client's receipt, on one machine's clock; events "
        "written while Redis was down reach clients when the bus is back (they replay from the log), hence "
        "their own line. Typing signals fail while Redis is down (typing presence lives there); assignments "
        "and inbound messages keep committing to PostgreSQL.",
        "",
    ]
    failures = Counter(f"{op.kind}: {op.detail}" for op in traffic.ops if op.outcome == "failed")
    if failures:
        lines += ["Failed operations (kind: answer, count):", ""]
        lines += [f"- {detail} ×{n}" for detail, n in failures.most_common(8)]
        lines.append("")
    report = "\n".join(lines)
    print(report)
    Path(args.output).write_text(report)
    print(f"written to {args.output}")
    return 0 if losses == 0 and duplicates == 0 and disorder == 0 and extra == 0 else 1


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
    parser.add_argument("--output", default=str(ROOT / "bench" / "SOAK.md"))
    parser.add_argument("--keep-database", action="store_true")
    args = parser.parse_args(argv)
    return asyncio.run(soak(args))


if __name__ == "__main__":
    sys.exit(main())
