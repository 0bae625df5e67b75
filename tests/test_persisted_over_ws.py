"""Persisted documents over graphql-transport-ws: the same lookup as over HTTP (one
implementation, server/persisted), so a `subscribe` may carry a hash instead of its text."""
from __future__ import annotations

import hashlib
import json

from websockets.asyncio.client import connect

from tests.support.graphql_ws import TRANSPORT_WS
from tests.support.live import running_server
from tests.support.teams import make_team

QUERY = "query Who { viewer { user { id } } }"
HASH = hashlib.sha256(QUERY.encode()).hexdigest()
PERSISTED = {"persistedQuery": {"version": 1, "sha256Hash": HASH}}


async def run(ws, operation_id: str, payload: dict) -> dict:
    """Subscribe, and the first frame for that id (`next` or `error`)."""
    await ws.send(json.dumps({"id": operation_id, "type": "subscribe", "payload": payload}))
    while True:
        frame = json.loads(await ws.recv())
        if frame.get("id") == operation_id:
            return frame


async def test_a_hash_is_not_found_until_its_text_was_sent_once_then_served_by_hash(settings):
    async with running_server(settings) as server, server.http() as http:
        team = await make_team(http)
        async with connect(server.ws_url, subprotocols=[TRANSPORT_WS]) as ws:
            await ws.send(json.dumps({"type": "connection_init",
                                      "payload": {"authorization": f"Bearer {team['bob'].token}"}}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"

            unknown = await run(ws, "1", {"extensions": PERSISTED})
            registered = await run(ws, "2", {"query": QUERY, "extensions": PERSISTED})
            by_hash = await run(ws, "3", {"extensions": PERSISTED})
            mismatch = await run(ws, "4", {"query": "{ __typename }", "extensions": PERSISTED})

    assert unknown["type"] == "error"
    assert [e["extensions"]["code"] for e in unknown["payload"]] == ["PERSISTED_QUERY_NOT_FOUND"]
    me = {"viewer": {"user": {"id": team["bob"].id}}}
    assert registered == {"id": "2", "type": "next", "payload": {"data": me}}
    assert by_hash == {"id": "3", "type": "next", "payload": {"data": me}}
    assert mismatch["type"] == "error"
    assert [e["extensions"]["code"] for e in mismatch["payload"]] == ["PERSISTED_QUERY_HASH_MISMATCH"]
