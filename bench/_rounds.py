"""One measurement round: N clients (in worker processes) subscribe to one target, the
publisher sends warm-ups until every client has one, then `messages` timed messages.

Pacing is closed-loop: message i+1 leaves no sooner than 1/rate after message i *and*
not before every client has received message i (or `message_timeout` passed), so the
numbers are latency, not queueing behind a saturated server."""
from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import orjson

from bench._http import RawHTTP
from bench._servers import COMPANY_PHONE, CUSTOMER_PHONE, ROOT, Server, die_with_parent, sign

WARMUPS = 10
WARMUP_TIMEOUT = 5.0
READY_TIMEOUT = 300.0


@dataclass
class Target:
    name: str
    server: Server
    tokens: list[str]
    subscribe: dict  # the graphql-transport-ws subscribe payload
    publish: Callable[[RawHTTP, str, int], Awaitable[None]]  # posts message i of a round, stamped with the send time


@dataclass
class RoundResult:
    latencies_ns: list[int] = field(default_factory=list)
    fanout_ns: list[int] = field(default_factory=list)  # per message: until the last client had it
    post_ns: list[int] = field(default_factory=list)  # publisher's HTTP round trip
    connect_s: float = 0.0  # until every client had connection_ack and had sent subscribe
    frame_bytes: int = 0
    expected: int = 0
    timeouts: int = 0
    errors: list[str] = field(default_factory=list)


def _check(status: int, answer: bytes) -> None:
    if status != 200:
        raise RuntimeError(f"publish answered {status}: {answer[:300]!r}")


def teaminbox_publisher(server: Server) -> Callable[[RawHTTP, str, int], Awaitable[None]]:
    """A customer's message through the signed inbound webhook."""
    async def publish(http: RawHTTP, tag: str, i: int) -> None:
        text = f"bench|{tag}|{i}|{time.monotonic_ns()}"
        body = orjson.dumps({"id": f"ext-{tag}-{i}", "from": CUSTOMER_PHONE, "to": COMPANY_PHONE, "body": text})
        _check(*await http.post(f"/webhooks/inbound/{server.account_id}", body,
                                {"X-Signature": sign(server.webhook_secret, body)}))
    return publish


def baseline_publisher(frame_of: Callable[[str], dict]) -> Callable[[RawHTTP, str, int], Awaitable[None]]:
    """The ready-made frame, posted to the baseline's broadcast endpoint."""
    async def publish(http: RawHTTP, tag: str, i: int) -> None:
        _check(*await http.post("/broadcast", orjson.dumps(frame_of(f"bench|{tag}|{i}|{time.monotonic_ns()}"))))
    return publish


class Workers:
    """The load-generator processes of one round and what they report."""

    def __init__(self) -> None:
        self.processes: list[asyncio.subprocess.Process] = []
        self.ready: list[dict] = []
        self.results: list[dict] = []
        self.done: dict[int, int] = {}
        self.done_at_ns: dict[int, int] = {}  # per message: the latest "all" receipt time so far
        self.typing: list[tuple[bool, int]] = []  # (isTyping, receipt ns), with "report_typing"
        self.counts: list[int] = []  # answers to "count", in arrival order
        self.changed = asyncio.Condition()
        self.readers: list[asyncio.Task] = []

    async def start(self, configs: list[dict]) -> None:
        for config in configs:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench._clients", cwd=ROOT, stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, limit=2**26, preexec_fn=die_with_parent,
            )
            self.processes.append(process)
            process.stdin.write(orjson.dumps(config) + b"\n")
            await process.stdin.drain()
            self.readers.append(asyncio.create_task(self._read(process)))

    async def _read(self, process: asyncio.subprocess.Process) -> None:
        while line := await process.stdout.readline():
            report = orjson.loads(line)
            async with self.changed:
                if "all" in report:
                    self.done[report["all"]] = self.done.get(report["all"], 0) + 1
                    at_ns = report.get("at_ns", 0)
                    if at_ns > self.done_at_ns.get(report["all"], 0):
                        self.done_at_ns[report["all"]] = at_ns
                elif "typing" in report:
                    self.typing.append((report["typing"], report["at_ns"]))
                elif "count" in report:
                    self.counts.append(report["count"])
                elif "ready" in report:
                    self.ready.append(report)
                elif "result" in report:
                    self.results.append(report["result"])
                self.changed.notify_all()
        async with self.changed:
            self.changed.notify_all()

    async def wait(self, predicate: Callable[[], bool], timeout: float) -> bool:
        async def until() -> None:
            async with self.changed:
                while not predicate():
                    if all(p.returncode is not None for p in self.processes) and not predicate():
                        raise RuntimeError("the load-generator workers exited early")
                    await self.changed.wait()
        try:
            await asyncio.wait_for(until(), timeout)
            return True
        except TimeoutError:
            return False

    def all_received(self, index: int) -> bool:
        return self.done.get(index, 0) >= len(self.processes)

    async def received_count(self, timeout: float = 10) -> int:
        """Measured receipts so far, summed over the workers (asks each one)."""
        asked = len(self.counts)
        for process in self.processes:
            process.stdin.write(b"count\n")
        await asyncio.gather(*(process.stdin.drain() for process in self.processes))
        if not await self.wait(lambda: len(self.counts) >= asked + len(self.processes), timeout):
            raise RuntimeError("the load-generator workers did not answer 'count'")
        return sum(self.counts[asked:asked + len(self.processes)])

    def _ask_to_stop(self) -> None:
        for process in self.processes:
            if process.returncode is None and process.stdin and not process.stdin.is_closing():
                try:
                    process.stdin.write(b"stop\n")
                    process.stdin.close()
                except (OSError, RuntimeError):
                    pass

    async def stop(self) -> None:
        """Ask for the results (the workers then close their sockets and exit)."""
        self._ask_to_stop()
        await self.wait(lambda: len(self.results) == len(self.processes), 60)

    async def close(self) -> None:
        """Give the workers time to close their sockets cleanly, then kill what is left."""
        self._ask_to_stop()
        for process in self.processes:
            try:
                await asyncio.wait_for(asyncio.shield(process.wait()), 15)
            except TimeoutError:
                pass
            finally:
                if process.returncode is None:
                    process.kill()
                    await asyncio.wait_for(process.wait(), 10)
        for reader in self.readers:
            reader.cancel()


def split(n: int, parts: int) -> list[int]:
    parts = max(1, min(parts, n))
    return [n // parts + (1 if k < n % parts else 0) for k in range(parts)]


async def run_round(target: Target, clients: int, messages: int, rate: float, workers: int,
                    deflate: bool, message_timeout: float) -> RoundResult:
    tag = uuid.uuid4().hex[:8]
    interval = 1.0 / rate
    deadline = READY_TIMEOUT + WARMUPS * WARMUP_TIMEOUT + messages * (interval + message_timeout) + 60
    configs = [{"url": f"ws://127.0.0.1:{target.server.port}/graphql", "host": "127.0.0.1",
                "port": target.server.port, "tokens": target.tokens, "clients": n, "tag": tag,
                "subscribe": target.subscribe, "deflate": deflate, "deadline_seconds": deadline}
               for n in split(clients, workers)]
    result = RoundResult(expected=clients * messages)
    pool = Workers()
    try:
        opening = time.monotonic()
        await pool.start(configs)
        if not await pool.wait(lambda: len(pool.ready) == len(configs), READY_TIMEOUT):
            raise RuntimeError(f"{target.name}: clients not connected within {READY_TIMEOUT}s")
        connected = sum(r["ready"] for r in pool.ready)
        if connected != clients:
            errors = [e for r in pool.ready for e in r["errors"]]
            raise RuntimeError(f"{target.name}: {connected}/{clients} clients connected: {errors}")
        result.connect_s = time.monotonic() - opening
        print(f"    connected in {result.connect_s:.1f}s", file=sys.stderr, flush=True)
        async with RawHTTP("127.0.0.1", target.server.port) as http:
            await _warm_up(target, pool, http, tag)
            for i in range(messages):
                started = time.monotonic()
                sent_ns = time.monotonic_ns()
                await target.publish(http, tag, i)
                result.post_ns.append(time.monotonic_ns() - sent_ns)
                if not await pool.wait(lambda: pool.all_received(i), message_timeout):
                    result.timeouts += 1
                await asyncio.sleep(max(0.0, started + interval - time.monotonic()))
        await pool.stop()
    finally:
        await pool.close()
    by_message: dict[int, int] = {}
    for report in pool.results:
        result.latencies_ns.extend(report["latencies_ns"])
        result.frame_bytes = max(result.frame_bytes, report["frame_bytes"])
        result.errors.extend(report["errors"])
        for index, worst in report["max_ns"].items():
            by_message[index] = max(by_message.get(index, 0), worst)
    result.fanout_ns = [by_message[i] for i in sorted(by_message, key=int)]
    return result


async def _warm_up(target: Target, pool: Workers, http: RawHTTP, tag: str) -> None:
    """Subscriptions are live some time after `subscribe` (the protocol has no ack):
    send warm-ups until one reaches every client (it also warms the server's caches)."""
    for w in range(1, WARMUPS + 1):
        await target.publish(http, tag, -w)
        if await pool.wait(lambda: pool.all_received(-w), WARMUP_TIMEOUT):
            return
    raise RuntimeError(f"{target.name}: no warm-up message reached every client")
