"""Liveness and readiness for load balancers."""
from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse
from tortoise import connections

DATABASE_CHECK_TIMEOUT = 2.0


async def healthz(request: Request) -> JSONResponse:
    """The process is up and serving HTTP."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """Ready for traffic: the database answers and the bus is connected."""
    database = await _database_ok()
    realtime = getattr(request.app.state, "realtime", None)
    bus = bool(realtime and realtime.bus.healthy)
    ready = database and bus
    return JSONResponse({"status": "ready" if ready else "unavailable", "database": database, "bus": bus},
                        status_code=200 if ready else 503)


async def _database_ok() -> bool:
    try:
        await asyncio.wait_for(connections.get("default").execute_query("SELECT 1"), DATABASE_CHECK_TIMEOUT)
        return True
    except Exception:  # noqa: BLE001 - any failure (or a hang) means "not ready"
        return False
