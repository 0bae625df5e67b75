"""A scenario script of tests/clients/ running under node: it prints one JSON object a
line on stdout (what its client saw), reads one command a line on stdin, and pytest
reads and writes those with bounded waits. Its stderr is kept for failure messages."""
from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from tests.support.environment import REPO
from tests.support.node_clients import NodeClients

Line = dict[str, Any]


class NodeScenario:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[Line] = []  # everything printed so far, in order
        self._read = 0  # lines already handed out by next()
        self.stderr = bytearray()  # drained as it comes, so a chatty client never blocks on a full pipe
        self._drain = asyncio.create_task(self._drain_stderr())

    async def _drain_stderr(self) -> None:
        assert self.process.stderr is not None
        while chunk := await self.process.stderr.read(65536):
            self.stderr += chunk

    async def _read_line(self, timeout: float) -> Line:
        assert self.process.stdout is not None
        raw = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        if not raw:
            raise AssertionError(f"the node scenario ended ({await self._exit()}); stderr:\n{await self._stderr()}")
        line: Line = json.loads(raw)
        if line.get("type") == "fatal":
            raise AssertionError(f"the node scenario failed: {line.get('message')}\n{line.get('stack', '')}\n"
                                 f"stderr:\n{await self._stderr()}")
        self.lines.append(line)
        return line

    async def next(self, predicate: Callable[[Line], bool], what: str, timeout: float = 10.0) -> Line:
        """The next line (after the last one returned) that matches, waiting up to `timeout`."""
        async def find() -> Line:
            while True:
                while self._read < len(self.lines):
                    line = self.lines[self._read]
                    self._read += 1
                    if predicate(line):
                        return line
                await self._read_line(timeout)
        try:
            return await asyncio.wait_for(find(), timeout)
        except TimeoutError:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; the client printed "
                                 f"{json.dumps(self.lines[-20:], indent=1)[-6000:]}") from None

    async def ask(self, command: str, **arguments: Any) -> Line:
        """Send a command; its answer is the next line of type `command`."""
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"command": command, **arguments}).encode() + b"\n")
        await self.process.stdin.drain()
        return await self.next(lambda line: line.get("type") == command, f"the answer to {command!r}")

    async def _exit(self) -> int | None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.process.wait(), 2)
        return self.process.returncode

    async def _stderr(self) -> str:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._drain), 2)
        return self.stderr.decode(errors="replace")[-4000:]


@contextlib.asynccontextmanager
async def node_scenario(clients: NodeClients, script: str, config: dict[str, Any]) -> AsyncIterator[NodeScenario]:
    """Run tests/clients/<script> with `config` (plus the repository path) as its JSON argument."""
    process = await asyncio.create_subprocess_exec(
        clients.node, str(clients.script(script)), json.dumps({"repo": str(REPO), **config}),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        limit=16 * 1024 * 1024,  # cache snapshots are single long lines
    )
    scenario = NodeScenario(process)
    try:
        yield scenario
    finally:
        if process.returncode is None:
            process.kill()  # this scenario's own process, by its handle
        await process.wait()
        await scenario._drain
