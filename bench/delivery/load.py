"""The load: members' replies (the clients' SendMessage document over keep-alive HTTP/1.1,
each with a clientMessageId, as the web inbox sends them) spread round-robin over many
conversations, each call timestamped; then the wait until every answered reply reached the
emulator. Two shapes:

- `offered_step`: open loop at a fixed rate (bench.realtime.common.open_loop: reply i is due
  at i / rate, on a free connection of the pool; late when every connection is busy,
  dropped past the window), the server's delivery worker sending meanwhile;
- `backlog`: the worker's own ceiling. The server restarted without its worker
  (TEAMINBOX_DELIVERY_WORKER=0) takes a backlog as fast as it answers (closed loop), then,
  restarted with it, the worker drains the backlog with nothing else to do."""
from __future__ import annotations

import asyncio
import itertools
import math
import time
from dataclasses import dataclass, field

import httpx
import orjson

from bench.common.http import RawHTTP
from bench.common.paths import operation
from bench.common.process import cpu_seconds
from bench.delivery.peer import Emulator
from bench.delivery.target import Target
from bench.realtime.common import OpenLoop, open_loop

SEND = operation("SendMessage")
POLL = 0.05


@dataclass(frozen=True)
class Reply:
    message_id: int
    sent_ns: int  # monotonic, just before the request
    answered_ns: int  # monotonic, once the answer was read
    answered_wall_ns: int  # the same moment on the wall clock (SENT is stored as wall-clock time)


@dataclass
class Usage:
    """CPU seconds over a stretch of time: the server, the emulator, this process, and the
    whole machine's busy share (/proc/stat: everything else on it included)."""
    seconds: float
    server: float
    emulator: float
    driver: float
    machine_busy: float  # fraction of all CPUs

    def percent(self, of: str) -> float:
        return 100 * getattr(self, of) / self.seconds if self.seconds > 0 else math.nan


class Meter:
    def __init__(self, target: Target, emulator: Emulator):
        self.pids = (target.server.process.pid, emulator.server.process.pid)
        self.began = time.monotonic()
        self.server, self.emulator = (cpu_seconds(pid) for pid in self.pids)
        self.driver = time.process_time()
        self.machine = _proc_stat()

    def read(self) -> Usage:
        busy0, total0 = self.machine
        busy1, total1 = _proc_stat()
        return Usage(time.monotonic() - self.began, cpu_seconds(self.pids[0]) - self.server,
                     cpu_seconds(self.pids[1]) - self.emulator, time.process_time() - self.driver,
                     (busy1 - busy0) / (total1 - total0) if total1 > total0 else math.nan)


def _proc_stat() -> tuple[int, int]:
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return sum(values) - idle, sum(values)


@dataclass
class Step:
    name: str
    offered: float | None  # replies/s; None: as fast as the server answers
    seconds: float  # the sending window
    begin_ns: int
    replies: list[Reply] = field(default_factory=list)
    loop: OpenLoop | None = None
    failures: list[str] = field(default_factory=list)
    undelivered: int = 0  # answered but never reached the emulator within the drain timeout
    usage: Usage | None = None  # from the window's start until the last reply arrived

    @property
    def end_ns(self) -> int:
        return self.begin_ns + int(self.seconds * 1e9)


class Sender:
    """Replies through the API: reply i goes to conversation i mod N from member i mod M."""

    def __init__(self, target: Target, tag: str):
        self.conversations = target.conversations
        self.tokens = target.tokens
        self.tag = tag

    async def send(self, http: RawHTTP, i: int, into: list[Reply]) -> None:
        body = orjson.dumps({"query": SEND, "variables": {
            "conversationId": self.conversations[i % len(self.conversations)],
            "body": f"Thanks for waiting: your order {self.tag}-{i} left the warehouse today.",
            "clientMessageId": f"{self.tag}-{i}"}})
        headers = {"Authorization": f"Bearer {self.tokens[i % len(self.tokens)]}",
                   "Accept": "application/graphql-response+json, application/json"}
        sent = time.monotonic_ns()
        status, answer = await http.post("/graphql", body, headers)
        answered, wall = time.monotonic_ns(), time.time_ns()
        payload = orjson.loads(answer) if answer else {}
        reply = ((payload.get("data") or {}).get("sendMessage") or {})
        if status != 200 or payload.get("errors") or reply.get("userErrors") or not reply.get("message"):
            raise RuntimeError(f"sendMessage answered {status}: {answer[:300]!r}")
        into.append(Reply(int(reply["message"]["id"]), sent, answered, wall))


async def offered_step(name: str, target: Target, emulator: Emulator, rate: float, seconds: float,
                       connections: int, drain_timeout: float) -> Step:
    sender = Sender(target, f"{name}-{time.monotonic_ns()}")
    meter = Meter(target, emulator)
    step = Step(name, rate, seconds, time.monotonic_ns())
    step.loop = await open_loop(target.server.port, connections, rate, seconds,
                                lambda http, i: sender.send(http, i, step.replies))
    step.seconds = step.loop.seconds or seconds
    step.failures = step.loop.errors
    step.undelivered = await wait_delivered(emulator, step.replies, drain_timeout)
    step.usage = meter.read()
    return step


async def wait_delivered(emulator: Emulator, replies: list[Reply], timeout: float) -> int:
    """Collect arrivals until every reply has arrived; how many had not by `timeout`."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=30) as client:
        while True:
            await emulator.collect(client)
            missing = sum(1 for reply in replies if reply.message_id not in emulator.arrivals)
            if not missing or time.monotonic() > deadline:
                return missing
            await asyncio.sleep(POLL)


@dataclass
class Backlog:
    count: int
    replies: list[Reply]
    enqueue_seconds: float
    enqueue_usage: Usage
    sent_while_off: int  # arrivals while the worker was off (must be 0)
    healthy_ns: int  # when the restarted server answered /healthz (its worker starts before)
    drain_usage: Usage  # from healthy_ns until the last arrival
    undelivered: int
    failures: list[str]


async def backlog(target: Target, emulator: Emulator, count: int, connections: int, drain_timeout: float) -> Backlog:
    await target.restart(worker=False)
    sender = Sender(target, f"backlog-{time.monotonic_ns()}")
    replies: list[Reply] = []
    failures: list[str] = []
    numbers = itertools.count()
    meter = Meter(target, emulator)

    async def loop() -> None:
        async with RawHTTP("127.0.0.1", target.server.port) as http:
            while (i := next(numbers)) < count:
                try:
                    await sender.send(http, i, replies)
                except Exception as error:
                    failures.append(repr(error)[:300])

    await asyncio.gather(*(loop() for _ in range(connections)))
    enqueue_usage = meter.read()
    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.sleep(0.5)
        sent_while_off = len(await emulator.collect(client))
    await target.restart(worker=True)
    healthy_ns = time.monotonic_ns()
    meter = Meter(target, emulator)
    undelivered = await wait_delivered(emulator, replies, drain_timeout)
    return Backlog(count, replies, enqueue_usage.seconds, enqueue_usage, sent_while_off, healthy_ns, meter.read(),
                   undelivered, failures[:5])
