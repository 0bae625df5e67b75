"""The load-generator processes (`python -m bench.common.clients`) of one round: started with
a JSON config each, connected, asked for counts and results, and always stopped."""
from __future__ import annotations

import asyncio
import resource
import sys
import time
from collections.abc import Callable

import orjson

from bench.common.paths import ROOT
from bench.common.process import die_with_parent
from bench.common.servers import Server

READY_TIMEOUT = 300.0


def split(n: int, parts: int) -> list[int]:
    parts = max(1, min(parts, n))
    return [n // parts + (1 if k < n % parts else 0) for k in range(parts)]


def worker_config(server: Server, tokens: list[str], clients: int, tag: str, deadline_seconds: float,
                  **options: object) -> dict:
    """The config line of one worker: `clients` connections to `server`'s /graphql, sharing
    `tokens`; `options` are the other keys bench/common/clients.py reads (subscribe, ...)."""
    return {"url": server.ws_url, "host": "127.0.0.1", "port": server.port, "tokens": tokens, "clients": clients,
            "tag": tag, "deadline_seconds": deadline_seconds, **options}


def raise_fd_limit(needed: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, needed)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < needed:
        print(f"warning: RLIMIT_NOFILE hard limit {hard} < {needed}: the largest N may fail", file=sys.stderr)
    return target


def _stdin(process: asyncio.subprocess.Process) -> asyncio.StreamWriter:
    if process.stdin is None:
        raise RuntimeError("a load-generator worker without a stdin pipe")
    return process.stdin


class Workers:
    """The load-generator processes of one round and what they report."""

    def __init__(self) -> None:
        self.processes: list[asyncio.subprocess.Process] = []
        self.ready: list[dict] = []
        self.results: list[dict] = []
        self.done: dict[int, int] = {}
        self.typing: list[tuple[bool, int]] = []  # (isTyping, receipt ns), with "report_typing"
        self.counts: list[int] = []  # answers to "count", in arrival order
        self.changed = asyncio.Condition()
        self.readers: list[asyncio.Task] = []

    async def start(self, configs: list[dict]) -> None:
        for config in configs:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.common.clients", cwd=ROOT, stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, limit=2**26, preexec_fn=die_with_parent,
            )
            self.processes.append(process)
            _stdin(process).write(orjson.dumps(config) + b"\n")
            await _stdin(process).drain()
            self.readers.append(asyncio.create_task(self._read(process)))

    async def connect(self, configs: list[dict], name: str) -> float:
        """Start the workers and wait until every client is connected and subscribed;
        returns the seconds that took."""
        opening = time.monotonic()
        await self.start(configs)
        if not await self.wait(lambda: len(self.ready) == len(configs), READY_TIMEOUT):
            raise RuntimeError(f"{name}: clients not connected within {READY_TIMEOUT}s")
        clients = sum(config["clients"] for config in configs)
        connected = sum(r["ready"] for r in self.ready)
        if connected != clients:
            errors = [e for r in self.ready for e in r["errors"]]
            raise RuntimeError(f"{name}: {connected}/{clients} clients connected: {errors}")
        return time.monotonic() - opening

    async def _read(self, process: asyncio.subprocess.Process) -> None:
        if process.stdout is None:
            raise RuntimeError("a load-generator worker without a stdout pipe")
        while line := await process.stdout.readline():
            report = orjson.loads(line)
            async with self.changed:
                if "all" in report:
                    self.done[report["all"]] = self.done.get(report["all"], 0) + 1
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

    def reported(self, key: str) -> list:
        """One list of the workers' results pooled (latencies_ns, errors)."""
        return [value for result in self.results for value in result[key]]

    def reached(self, indices: list[int]) -> bool:
        """Each of these messages reached every client of (at least) one worker."""
        return all(self.done.get(i, 0) for i in indices)

    async def received_count(self, timeout: float = 10) -> int:
        """Measured receipts so far, summed over the workers (asks each one)."""
        asked = len(self.counts)
        for process in self.processes:
            _stdin(process).write(b"count\n")
        await asyncio.gather(*(_stdin(process).drain() for process in self.processes))
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
