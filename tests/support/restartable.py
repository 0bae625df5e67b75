"""A real server that can be stopped and started again on the same port and database,
as a deployment restarts: clients keep their URL and must reconnect by themselves.
(tests.support.live.running_server picks a new port each time, so it cannot.)"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import uvicorn

from server.app import create_app
from server.settings import Settings
from tests.support.ports import free_port


class RestartableServer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.port = free_port()
        self.http_url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/graphql"
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.http_url, timeout=10)

    async def start(self) -> None:
        config = uvicorn.Config(create_app(self.settings), host="127.0.0.1", port=self.port,
                                ws="websockets-sansio", lifespan="on", log_level="warning")
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        for _ in range(500):  # uvicorn sets `started` without an event to await: up to 5 s
            if self._server.started or self._task.done():
                break
            await asyncio.sleep(0.01)
        if not self._server.started:
            self._task.result() if self._task.done() else self._task.cancel()
            raise RuntimeError(f"the test server did not start on port {self.port}")

    async def stop(self) -> None:
        """Shut down as on SIGTERM (WebSockets are closed with 1012), and wait for it."""
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        await asyncio.wait_for(self._task, 10)
        self._server = self._task = None


@asynccontextmanager
async def restartable_server(settings: Settings) -> AsyncIterator[RestartableServer]:
    server = RestartableServer(settings)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
