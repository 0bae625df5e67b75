"""graphql-transport-ws on Strawberry's handler, as clients expect the protocol.

Where Strawberry's handler differs from the protocol, the difference is made here and
named where it is made."""
from __future__ import annotations

from contextlib import suppress
from typing import Any, Protocol, cast

from starlette.websockets import WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import Message, SubscribeMessage
from strawberry.types.execution import PreExecutionError

from models.db import DATABASE_UNAVAILABLE
from resolvers.auth import current_viewer, note_connection_closed
from schema.context import Context
from server import ws_frames
from server.connection_limits import REFUSED_CLOSE_CODE, ConnectionSlots, Slot, refusal_reason
from server.documents import Documents
from server.request_errors import RequestError, with_request_codes
from server.ws_messages import frame_problem
from subscriptions.protocol import FORBIDDEN_CLOSE_CODE


class _ServesDocuments(Protocol):
    documents: Documents


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """Strawberry's graphql-transport-ws handler, with the differences of ours: malformed
    frames closed with 4400, a socket whose login ended refused, persisted documents and
    operation selection as over HTTP, documents that cannot run answered with `error`,
    frames serialised once per event (server/ws_frames.py), at most so many open sockets
    per member (server/connection_limits.py)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # Strawberry builds the handler with the view: the view holds the documents.
        self.documents = cast(_ServesDocuments, self.view).documents
        # Strawberry's Operation keeps no `extensions`: a persisted document's hash waits
        # here, by operation id, until the operation's task resolves it.
        self.pending_extensions: dict[str, dict[str, Any] | None] = {}
        # This socket's place in its member's count of open sockets: taken when its
        # connection_init is accepted, given back when handle() ends.
        self.connection_slots: ConnectionSlots | None = None
        self.connection_slot: Slot | None = None

    async def handle(self) -> None:
        # Every way a socket ends comes out of here: the client closing or vanishing, the
        # server closing it (4403 from a frame or a subscription's task, 4400, 1012 on
        # shutdown), an exception while handling a frame. Strawberry's own finally (its
        # shutdown(): operations cancelled) has run by then.
        try:
            await super().handle()
        finally:
            if self.connection_slots is not None and self.connection_slot is not None:
                slot, self.connection_slot = self.connection_slot, None
                await self.connection_slots.release(slot)
            if self.context.viewer is not None:
                # Best effort: with the database gone (a shutdown, an outage) the session
                # just keeps the last use written while the socket was open.
                with suppress(*DATABASE_UNAVAILABLE):
                    await note_connection_closed(self.context.viewer)

    async def _take_connection_slot(self) -> bool:
        """A slot for the member who just authenticated; False (the socket closed, with
        the limit in the reason) when they have as many sockets open as they may."""
        websocket = cast(ASGIWebSocketAdapter, self.websocket).ws
        # Built by the app's lifespan (server/app.py); an app run without it has no limit.
        slots: ConnectionSlots | None = getattr(websocket.app.state, "connection_slots", None)
        viewer = self.context.viewer
        if slots is None or viewer is None:
            return True
        self.connection_slots = slots
        self.connection_slot = await slots.acquire(viewer.user_id)
        if self.connection_slot is None:
            await websocket.close(code=REFUSED_CLOSE_CODE, reason=refusal_reason(slots.limit))
            return False
        return True

    async def handle_message(self, message: Message) -> None:
        # Strawberry indexes the frame as a dict of the right types; anything else would
        # raise inside it and drop the socket without a close code.
        problem = frame_problem(message)
        if problem is not None:
            await self.handle_invalid_message(problem)
            return
        await super().handle_message(message)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        # A socket outlives its login: a member logged out or deactivated while it had no
        # subscription running must not go on querying, mutating or subscribing with it.
        # Nor with the role and plan it had then: each operation runs as the member is now.
        viewer = self.context.viewer
        if viewer is not None:
            current = await current_viewer(viewer)
            if current is None:
                await self.websocket.close(code=FORBIDDEN_CLOSE_CODE, reason="Access revoked")
                return
            self.context.viewer = current
        payload = cast(dict[str, Any], message["payload"])
        payload.setdefault("query", None)  # a persisted document's hash may come without its text
        known = message["id"] in self.operations
        await super().handle_subscribe(message)
        # Registered (not refused as a duplicate or over the limit): its task, created but
        # not yet started, will find the extensions.
        if not known and message["id"] in self.operations:
            self.pending_extensions[message["id"]] = payload.get("extensions")

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        extensions = self.pending_extensions.pop(operation.id, None)
        documents = self.documents
        try:
            operation.query = await documents.text(operation.query, extensions, self.context.viewer)
            documents.operation_type(operation.query, operation.operation_name)
        except RequestError as error:
            await operation.send_initial_errors([error.as_graphql_error()])
            return
        await super().run_operation(operation)

    async def cleanup_operation(self, operation_id: str) -> None:
        # Completed (or the socket closed) before its task began.
        self.pending_extensions.pop(operation_id, None)
        # The client is done with it: nothing more is sent for it, even by a task that
        # outlives its cancellation (Python 3.11's asyncio.wait_for, which redis-py awaits
        # through, returns a result that is ready instead of raising the cancellation).
        operation = self.operations.get(operation_id)
        if operation is not None:
            operation.completed = True
        await super().cleanup_operation(operation_id)

    def forget_id(self, id: str) -> None:
        # Such a task's last `complete` forgets an id that is already gone (Strawberry's
        # `del` would raise KeyError in the task and log it with a traceback).
        self.operations.pop(id, None)

    async def _handle_pre_execution_error(self, operation: Operation[Context, None], result: PreExecutionError) -> None:
        # Strawberry closes the socket (4400) on a syntax error; the protocol answers a
        # document that cannot run with an `error` message for that operation alone.
        assert result.errors
        await operation.send_initial_errors(with_request_codes(result.errors))

    async def send_message(self, message: Message) -> None:
        # Strawberry acknowledges right after on_ws_connect accepted the token: the one
        # moment between authentication and the ack, where a socket over its member's
        # limit is closed instead (Strawberry then marks it acknowledged, but the socket
        # is closed: its read loop stops before another frame).
        if message["type"] == "connection_ack" and not await self._take_connection_slot():
            return
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
        # A peer that went away while a frame was on its way is not an error: the read
        # loop sees the disconnect and stops every operation of the socket.
        with suppress(WebSocketDisconnect):
            await websocket.send_text(ws_frames.encode(message))
