"""A private `redis-server` for one run, so the shared Redis is never touched."""
from __future__ import annotations

import asyncio
import shutil
import time

from bench.common.process import die_with_parent, free_port


class RedisProcess:
    """A `redis-server` on a free port (no persistence), gone with this process. `stop()`
    kills it as a crash would (every connection drops at once) and `start()` brings it back
    on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self, timeout: float = 10) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not on PATH")
        self.process = process = await asyncio.create_subprocess_exec(
            binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
            preexec_fn=die_with_parent,
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                _, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", self.port), 1)
                writer.close()
                return
            except (TimeoutError, OSError):
                if process.returncode is not None or time.monotonic() > deadline:
                    await self.stop()
                    raise RuntimeError(f"redis-server did not start on port {self.port}") from None
                await asyncio.sleep(0.05)

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await asyncio.wait_for(self.process.wait(), 10)
        self.process = None
