"""The WebSocket handshake's Origin check follows TEAMINBOX_ALLOWED_ORIGINS, like CORS on
HTTP: a browser page on an allowed origin connects, any other origin is refused (403)
before the protocol starts; the server's own origin, and clients that send no Origin
(not browsers: no ambient credentials), always connect."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin, Subprotocol

from tests.support.live import running_server
from tests.support.teams import make_team

BROWSER_APP = "http://localhost:5173"
TRANSPORT_WS = Subprotocol("graphql-transport-ws")


async def handshake(ws_url: str, origin: str | None, token: str) -> str:
    """`connection_ack`, or `refused <status>` when the handshake is refused."""
    try:
        async with connect(ws_url, subprotocols=[TRANSPORT_WS], origin=Origin(origin) if origin else None) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
            return json.loads(await ws.recv())["type"]
    except InvalidStatus as refused:
        return f"refused {refused.response.status_code}"


@pytest.mark.parametrize(("allowed", "origin", "answer"), [
    ((BROWSER_APP,), BROWSER_APP, "connection_ack"),
    ((BROWSER_APP,), "https://evil.example", "refused 403"),
    ((), BROWSER_APP, "refused 403"),  # by default: same origin only
    (("*",), "https://anywhere.example", "connection_ack"),
    ((), None, "connection_ack"),  # not a browser
])
async def test_the_handshake_follows_the_allowed_origins(settings, allowed, origin, answer):
    async with running_server(replace(settings, allowed_origins=allowed)) as server, server.http() as http:
        team = await make_team(http)

        assert await handshake(server.ws_url, origin, team["bob"].token) == answer


async def test_the_servers_own_origin_always_connects(settings):
    async with running_server(settings) as server, server.http() as http:
        team = await make_team(http)

        assert await handshake(server.ws_url, server.http_url, team["bob"].token) == "connection_ack"
