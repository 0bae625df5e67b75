"""Liveness and readiness for load balancers, and the answer while the database is down."""
from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from typing import overload

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.websockets import WebSocket
from tortoise import connections

from models.db import DATABASE_UNAVAILABLE
from resolvers.errors import UNAVAILABLE_MESSAGE, ErrorCode
from subscriptions.runtime import Realtime

log = logging.getLogger(__name__)

__all__ = ["DATABASE_UNAVAILABLE", "ServiceUnavailable", "healthz", "readyz", "unavailable"]

TRY_AGAIN_LATER_CLOSE_CODE = 1013

DATABASE_CHECK_TIMEOUT = 2.0


class ServiceUnavailable(Exception):
    """Raised by the GraphQL endpoint when an operation met an unreachable database inside
    a resolver (the error itself was caught by graphql-core): answered like the others."""


async def healthz(request: Request) -> JSONResponse:
    """The process is up and serving HTTP."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """Ready for traffic: the database answers and the bus is connected."""
    database = await _database_ok()
    realtime: Realtime | None = getattr(request.app.state, "realtime", None)  # set by the lifespan
    bus = bool(realtime and realtime.bus.healthy)
    ready = database and bus
    return JSONResponse({"status": "ready" if ready else "unavailable", "database": database, "bus": bus},
                        status_code=200 if ready else 503)


async def _database_ok() -> bool:
    try:
        await asyncio.wait_for(connections.get("default").execute_query("SELECT 1"), DATABASE_CHECK_TIMEOUT)
        return True
    except Exception:
        return False


# Starlette calls one exception handler for HTTP requests and WebSockets alike, but types
# a handler as one or the other: the overloads say which answer each gets.
@overload
async def unavailable(conn: Request, exc: Exception) -> JSONResponse: ...


@overload
async def unavailable(conn: WebSocket, exc: Exception) -> None: ...


async def unavailable(conn: Request | WebSocket, exc: Exception) -> JSONResponse | None:
    """Starlette exception handler for DATABASE_UNAVAILABLE: HTTP gets a 503 with
    Retry-After (GraphQL-shaped on /graphql), a WebSocket is closed with 1013 (try again)."""
    log.warning("%s %s: database unavailable (%r)", conn.scope["type"], conn.url.path, exc)
    if isinstance(conn, WebSocket):
        with suppress(Exception):  # it may be closed already
            await conn.close(code=TRY_AGAIN_LATER_CLOSE_CODE, reason="Service temporarily unavailable")
        return None
    if conn.url.path.startswith("/graphql"):
        # Nothing ran: a request error, without `data` (GraphQL over HTTP).
        body: dict[str, object] = {
            "errors": [{"message": UNAVAILABLE_MESSAGE, "extensions": {"code": ErrorCode.UNAVAILABLE.value}}],
        }
    else:
        body = {"error": UNAVAILABLE_MESSAGE}
    return JSONResponse(body, status_code=503, headers={"retry-after": "1"})
