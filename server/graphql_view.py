"""The GraphQL endpoint: HTTP (with GraphiQL) and graphql-transport-ws WebSockets.

HTTP requests authenticate with `Authorization: Bearer`. WebSockets authenticate in
`connection_init` (`{"authorization": "Bearer ..."}`); a bad token closes with 4403."""
from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from cross_web import HTTPException  # what Strawberry turns into a plain HTTP error
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry import Schema
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_transport_ws.types import Message, SubscribeMessage

from resolvers.auth import authenticate, bearer_token, still_valid
from resolvers.viewer import Viewer
from schema.context import Context
from schema.limits import Limits
from server import graphiql, ws_frames
from server.connections import ConnectionTracker
from server.persisted import PersistedDocuments
from server.settings import Settings
from subscriptions.protocol import FORBIDDEN_CLOSE_CODE


class _TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        # A socket outlives its login: a member logged out or deactivated while it had no
        # subscription running must not go on querying, mutating or subscribing with it.
        viewer = self.context.viewer
        if viewer is not None and not await still_valid(viewer):
            await self.websocket.close(code=FORBIDDEN_CLOSE_CODE, reason="Access revoked")
            return
        await super().handle_subscribe(message)

    async def send_message(self, message: Message) -> None:
        # A subscription that closed the socket itself (access revoked: 4403) still ends
        # with a `complete` frame; with nobody left to send it to, Starlette would raise
        # and Strawberry log it as an error on every logout.
        # The ASGI view hands its handlers an ASGIWebSocketAdapter; the base class types
        # the attribute as the abstract adapter, which has no `ws`.
        websocket = cast(ASGIWebSocketAdapter, self.websocket).ws
        if websocket.application_state == WebSocketState.DISCONNECTED:
            return
        # Strawberry's send_json would json.dumps every frame; an event's shared payload
        # is serialised once for all its subscribers instead.
        try:
            await websocket.send_text(ws_frames.encode(message))
        except WebSocketDisconnect as error:
            raise WebSocketDisconnected from error


class TeamInboxGraphQL(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = _TransportWSHandler

    def __init__(self, schema: Schema, settings: Settings, persisted: PersistedDocuments):
        super().__init__(
            schema,
            graphql_ide="graphiql",
            allow_queries_via_get=False,  # GET is for GraphiQL; queries travel by POST
            # The legacy `graphql-ws` protocol is off: only graphql-transport-ws.
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=settings.connection_init_timeout_seconds),
            max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
        )
        self.limits = Limits(
            max_page_size=settings.max_page_size,
            default_page_size=min(50, settings.max_page_size),
            session_ttl=timedelta(hours=settings.session_ttl_hours),
        )
        self.connections = ConnectionTracker()
        self.persisted = persisted

    async def render_graphql_ide(self, request: Request) -> Response:
        return await graphiql.page(request)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await super().__call__(scope, receive, send)
            return
        websocket = WebSocket(scope, receive=receive, send=send)
        try:
            await self.run(websocket)
        finally:
            viewer: Viewer | None = getattr(websocket.state, "viewer", None)  # set by on_ws_connect
            if viewer is not None:
                await self.connections.closed(viewer)

    def parse_json(self, data: str | bytes) -> Any:
        """HTTP bodies (WebSocket frames use `decode_json`). Strawberry assumes an object
        or a batch list: a bare string, number or null would crash it into a 500."""
        parsed = super().parse_json(data)
        if not isinstance(parsed, (dict, list)):
            raise HTTPException(400, "The request body must be a JSON object")
        return parsed

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        context = Context(request=request, response=response, limits=self.limits)
        if request.scope["type"] == "http":
            context.viewer = await authenticate(bearer_token(request.headers.get("authorization")))
        return context

    async def on_ws_connect(self, context: Context) -> None:
        params = context.connection_params or {}
        raw = params.get("authorization") or params.get("Authorization")
        viewer = await authenticate(bearer_token(raw if isinstance(raw, str) else None))
        if viewer is None:
            raise ConnectionRejectionError()
        context.viewer = viewer
        websocket: WebSocket = context.request  # a WebSocket's context holds the socket as its request
        websocket.state.viewer = viewer
        self.connections.opened(viewer)
        return None
