"""The baseline for bench.fanout: a plain Starlette WebSocket broadcast.

`python -m bench.baseline_ws --port P` serves, under uvicorn with the same WebSocket
implementation and log level as `teaminbox serve` (ws="websockets-sansio", info):

- `WS /graphql`: accepts the graphql-transport-ws subprotocol, answers connection_init
  with connection_ack and, once the client's `subscribe` arrives, keeps the socket in a set
  (so the benchmark's client code is the same for both servers);
- `POST /broadcast`: sends the posted body, as text, to every socket in the set, one
  after the other (the textbook Starlette broadcast loop), then answers 200;
- `GET /healthz`.

No database, no bus, no GraphQL: what is left is the HTTP and WebSocket cost of a fan-out.
"""
from __future__ import annotations

import argparse

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

sockets: set[WebSocket] = set()


async def subscribe(websocket: WebSocket) -> None:
    await websocket.accept(subprotocol="graphql-transport-ws")
    try:
        await websocket.receive_text()  # connection_init
        await websocket.send_text('{"type":"connection_ack"}')
        await websocket.receive_text()  # subscribe
        sockets.add(websocket)
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
    except WebSocketDisconnect:
        pass
    finally:
        sockets.discard(websocket)


async def broadcast(request: Request) -> JSONResponse:
    payload = (await request.body()).decode()
    sent = 0
    for websocket in list(sockets):
        try:
            await websocket.send_text(payload)
            sent += 1
        except Exception:  # noqa: BLE001 - a gone client is dropped, like any broadcaster would
            sockets.discard(websocket)
    return JSONResponse({"sent": sent})


async def healthz(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


app = Starlette(routes=[
    WebSocketRoute("/graphql", subscribe),
    Route("/broadcast", broadcast, methods=["POST"]),
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
