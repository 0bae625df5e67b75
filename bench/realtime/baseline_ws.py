"""The baseline for bench.fanout and bench.realtime: a plain Starlette WebSocket broadcast.

`python -m bench.realtime.baseline_ws --port P` serves, under uvicorn with the same WebSocket
implementation and log level as `teaminbox serve` (ws="websockets-sansio", info):

- `WS /graphql`: accepts the graphql-transport-ws subprotocol, answers connection_init
  with connection_ack and, once the client's `subscribe` arrives, keeps the socket in a set
  (so the benchmark's client code is the same for both servers);
- `POST /broadcast`: sends the posted body, as text, to every socket in the set, one
  after the other (the textbook Starlette broadcast loop), then answers 200;
- `POST /send/{group}`: the same, to the sockets whose `subscribe` named that group
  (`variables.conversationId`): a targeted fan-out (bench.realtime);
- `GET /healthz`.

No database, no bus, no GraphQL: what is left is the HTTP and WebSocket cost of a fan-out.
"""
from __future__ import annotations

import argparse

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

sockets: set[WebSocket] = set()
groups: dict[str, set[WebSocket]] = {}  # variables.conversationId of the subscribe -> sockets


async def subscribe(websocket: WebSocket) -> None:
    await websocket.accept(subprotocol="graphql-transport-ws")
    group = None
    try:
        await websocket.receive_text()  # connection_init
        await websocket.send_text('{"type":"connection_ack"}')
        group = _group(await websocket.receive_text())  # subscribe
        sockets.add(websocket)
        groups.setdefault(group, set()).add(websocket)
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
    except WebSocketDisconnect:
        pass
    finally:
        sockets.discard(websocket)
        if group is not None:
            groups[group].discard(websocket)


def _group(subscribe: str) -> str:
    try:
        variables = orjson.loads(subscribe).get("payload", {}).get("variables") or {}
        return str(variables.get("conversationId", ""))
    except (orjson.JSONDecodeError, AttributeError):
        return ""


async def _send_all(targets: set[WebSocket], payload: str) -> int:
    sent = 0
    for websocket in list(targets):
        try:
            await websocket.send_text(payload)
            sent += 1
        except Exception:
            targets.discard(websocket)
    return sent


async def broadcast(request: Request) -> JSONResponse:
    return JSONResponse({"sent": await _send_all(sockets, (await request.body()).decode())})


async def send_to_group(request: Request) -> JSONResponse:
    members = groups.get(request.path_params["group"], set())
    return JSONResponse({"sent": await _send_all(members, (await request.body()).decode())})


async def healthz(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


app = Starlette(routes=[
    WebSocketRoute("/graphql", subscribe),
    Route("/broadcast", broadcast, methods=["POST"]),
    Route("/send/{group}", send_to_group, methods=["POST"]),
    Route("/healthz", healthz),
])


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(app, host=args.host, port=args.port, ws="websockets-sansio", log_level="info")


if __name__ == "__main__":
    main()
