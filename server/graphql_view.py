"""The GraphQL endpoint: GraphQL over HTTP (GET and POST; subscriptions as multipart or
Server-Sent Events streams; GraphiQL for a browser) and graphql-transport-ws WebSockets
(server/ws_handler.py), on Strawberry's view.

HTTP requests authenticate with `Authorization: Bearer`. WebSockets authenticate in
`connection_init` (`{"authorization": "Bearer ..."}`); a bad token closes with 4403.

Where Strawberry's view differs from the GraphQL-over-HTTP specification, this module
holds the difference (each is named where it is made): answers in the media type the
client accepts, with the specification's status codes; every refusal a GraphQL error with
a code, never plain text; the document and operation a request runs decided before it
runs (server/documents.py)."""
from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry import Schema
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.base import BaseRequestProtocol
from strawberry.http.types import QueryParams
from strawberry.subscriptions import (
    GRAPHQL_SSE_PROTOCOL,
    GRAPHQL_TRANSPORT_WS_PROTOCOL,
    MULTIPART_SUBSCRIPTION_PROTOCOL,
)
from strawberry.types import ExecutionResult, SubscriptionExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType

from resolvers.auth import authenticate, bearer_token
from resolvers.errors import ErrorCode, is_storable
from resolvers.viewer import Viewer
from schema.context import Context
from schema.limits import Limits
from server import graphiql
from server.client_address import client_address
from server.connections import ConnectionTracker
from server.documents import Documents
from server.health import ServiceUnavailable
from server.http_streams import MULTIPART_CONTENT_TYPE, LineFeedSSETransport, MultipartTransport, opened_multipart
from server.media_types import JSON, negotiate, response_status
from server.persisted import PersistedDocuments
from server.request_errors import RequestError, RequestErrorCode, from_http_exception, with_request_codes
from server.settings import Settings
from server.ws_handler import TransportWSHandler

# The answer's media type (and, for a GET, page or JSON) follows Accept: caches must key on it.
VARY_ACCEPT = {"Vary": "Accept"}

SUBSCRIPTION_OVER_PLAIN_HTTP = (
    "Subscriptions are served over a WebSocket (graphql-transport-ws at /graphql) or as an HTTP stream "
    "(send `Accept: multipart/mixed;subscriptionSpec=1.0`, or `Accept: text/event-stream`)"
)


class TeamInboxGraphQL(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = TransportWSHandler
    stream_transport_classes_by_protocol = {
        MULTIPART_SUBSCRIPTION_PROTOCOL: MultipartTransport,
        GRAPHQL_SSE_PROTOCOL: LineFeedSSETransport,
    }

    def __init__(self, schema: Schema, settings: Settings, persisted: PersistedDocuments):
        super().__init__(
            schema,
            graphql_ide="graphiql",
            allow_queries_via_get=True,  # GET carries queries only: mutations are refused with 405
            # graphql-transport-ws on WebSockets (the legacy `graphql-ws` protocol is off);
            # over HTTP, for clients behind proxies that drop WebSockets, Apollo's multipart
            # subscriptions and Server-Sent Events (what urql's fetch subscriptions ask for).
            subscription_protocols=(
                GRAPHQL_TRANSPORT_WS_PROTOCOL, MULTIPART_SUBSCRIPTION_PROTOCOL, GRAPHQL_SSE_PROTOCOL,
            ),
            connection_init_wait_timeout=timedelta(seconds=settings.connection_init_timeout_seconds),
            max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
            allowed_origins=settings.allowed_origins,
        )
        self.limits = Limits(
            max_page_size=settings.max_page_size,
            default_page_size=min(50, settings.max_page_size),
            session_ttl=timedelta(hours=settings.session_ttl_hours),
            public_url=settings.base_url(),
        )
        self.connections = ConnectionTracker()
        self.documents = Documents(persisted, settings.max_tokens)
        self.trusted_proxies = settings.trusted_proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._serve_http(scope, receive, send)
            return
        websocket = WebSocket(scope, receive=receive, send=send)
        try:
            await self.run(websocket)
        finally:
            viewer: Viewer | None = getattr(websocket.state, "viewer", None)  # set by on_ws_connect
            if viewer is not None:
                await self.connections.closed(viewer)

    async def _serve_http(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        media_type = negotiate(request.headers.get("accept"))
        request.state.media_type = media_type or JSON
        try:
            if media_type is None and not self._streams_or_renders_ide(request):
                raise RequestError(
                    "Accept application/graphql-response+json or application/json", RequestErrorCode.NOT_ACCEPTABLE,
                    status=406,
                )
            response = await self.run(request)
        except HTTPException as error:  # Strawberry's refusals, and ours
            response = _request_error_response(from_http_exception(error), request.state.media_type)
        await response(scope, receive, send)

    def _streams_or_renders_ide(self, request: Request) -> bool:
        """Answers in neither JSON media type: a stream (multipart or SSE), or GraphiQL's page."""
        streams = self._get_stream_transport_from_headers(request.headers) is not None
        return streams or self.should_render_graphql_ide(self.request_adapter_class(request))

    async def create_streaming_response(
        self, request: Request | WebSocket, stream: Callable[[], AsyncIterator[str]], sub_response: Response,
        headers: Mapping[str, str],
    ) -> Response:
        if headers.get("Content-Type") == MULTIPART_CONTENT_TYPE:
            def opened() -> AsyncIterator[str]:
                return opened_multipart(stream())
            return await super().create_streaming_response(request, opened, sub_response, headers)
        return await super().create_streaming_response(request, stream, sub_response, headers)

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        # Strawberry renders the page for any GET without `query` whose Accept has */*:
        # a GET naming a persisted document by hash (Apollo's useGETForHashedQueries, a
        # documentId) would get HTML. Only a browser asking for a page gets it.
        params = request.query_params
        names_a_document = any(params.get(name) is not None for name in ("query", "extensions", "documentId"))
        return request.method == "GET" and not names_a_document and "text/html" in request.headers.get("accept", "")

    async def render_graphql_ide(self, request: Request) -> Response:
        return await graphiql.page(request)

    def parse_query_params(self, params: QueryParams) -> dict[str, Any]:
        # `variables=null` (or `extensions=null`) in a GET is "none", as in a POST body;
        # parse_json below refuses a bare null for bodies.
        return super().parse_query_params({
            name: value for name, value in params.items()
            if not (name in ("variables", "extensions") and value == "null")
        })

    def parse_json(self, data: str | bytes) -> Any:
        """HTTP bodies (WebSocket frames use `decode_json`). Strawberry assumes an object
        or a batch list: a bare string, number or null would crash it into a 500."""
        try:
            parsed = super().parse_json(data)
        except UnicodeDecodeError:  # Strawberry catches only JSONDecodeError
            raise RequestError("The request body must be JSON in UTF-8", RequestErrorCode.BAD_REQUEST) from None
        except RecursionError:
            raise RequestError("The request body nests too deeply", RequestErrorCode.BAD_REQUEST) from None
        if not isinstance(parsed, (dict, list)):
            raise RequestError("The request body must be a JSON object", RequestErrorCode.BAD_REQUEST)
        return parsed

    async def parse_http_body(self, request: AsyncHTTPRequestAdapter) -> GraphQLRequestData | list[GraphQLRequestData]:
        parsed = await super().parse_http_body(request)
        if not isinstance(parsed, GraphQLRequestData) or parsed.query is not None:
            return parsed
        # No text: the request may name a trusted document by the GraphQL-over-HTTP
        # proposal's top-level `documentId`, which Strawberry does not read.
        if request.method == "GET":
            document_id: object = request.query_params.get("documentId")
        else:
            body = self.parse_json(await request.get_body())
            document_id = body.get("documentId") if isinstance(body, dict) else None
        return _RequestData(**vars(parsed), document_id=document_id)

    async def execute_operation(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: Context,
        root_value: None,
        sub_response: Response,
    ) -> ExecutionResult | list[ExecutionResult] | SubscriptionExecutionResult:
        if isinstance(request_data, list):  # refused while parsing: batching is off
            raise RequestError("Batched requests are not supported", RequestErrorCode.BAD_REQUEST)
        document_id = request_data.document_id if isinstance(request_data, _RequestData) else None
        text = await self.documents.text(request_data.query, request_data.extensions, context.viewer, document_id)
        operation_type = self.documents.operation_type(text, request_data.operation_name)
        streaming = request_data.protocol != "http"
        if operation_type is OperationType.MUTATION and request_adapter.method == "GET":
            raise RequestError(
                "Mutations are sent with POST", RequestErrorCode.METHOD_NOT_ALLOWED, status=405,
                headers={"Allow": "POST"},
            )
        if operation_type is OperationType.SUBSCRIPTION and not streaming:
            raise RequestError(SUBSCRIPTION_OVER_PLAIN_HTTP, RequestErrorCode.BAD_REQUEST)
        if streaming and operation_type is OperationType.SUBSCRIPTION:
            request.state.streaming = True
            stream = await self.schema.stream(
                text, variable_values=request_data.variables, context_value=context,
                operation_name=request_data.operation_name, operation_extensions=request_data.extensions,
                allowed_operation_types=(OperationType.SUBSCRIPTION,),
            )
            # What Strawberry's own view returns for a stream, typed as its run() expects.
            return cast(SubscriptionExecutionResult, stream)
        # A query or mutation asked for as a stream is answered as a single JSON result.
        request_data.protocol = "http"
        allowed = {OperationType.QUERY} if request_adapter.method == "GET" else {
            OperationType.QUERY, OperationType.MUTATION,
        }
        return await self.schema.execute(
            text, variable_values=request_data.variables, context_value=context,
            operation_name=request_data.operation_name, allowed_operation_types=allowed,
            operation_extensions=request_data.extensions,
        )

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        errors = result.errors or []
        unavailable = any((error.extensions or {}).get("code") == ErrorCode.UNAVAILABLE.value for error in errors)
        if unavailable and not getattr(request.state, "streaming", False):
            # A resolver met an unreachable database: the same 503 as any other request.
            # (A stream has sent its status already: its part carries the UNAVAILABLE error.)
            raise ServiceUnavailable
        if _is_request_error(result, errors):
            coded = with_request_codes(errors)
            # A request error has no `data` (GraphQL over HTTP): the status says it.
            return {"errors": [error.formatted for error in coded]}
        return await super().process_result(request, result)

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        sub_response.media_type = getattr(request.state, "media_type", JSON)
        return sub_response

    def create_response(
        self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse], sub_response: Response
    ) -> Response:
        media_type = sub_response.media_type or JSON
        single = response_data if isinstance(response_data, dict) else {"data": None}
        response = Response(
            self.encode_json(response_data), status_code=response_status(media_type, single), media_type=media_type,
            headers=VARY_ACCEPT,
        )
        response.headers.raw.extend(sub_response.headers.raw)
        if sub_response.background:
            response.background = sub_response.background
        if sub_response.status_code:
            response.status_code = sub_response.status_code
        return response

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        context = Context(
            request=request, response=response, limits=self.limits,
            client_address=client_address(request.scope, self.trusted_proxies),
        )
        if request.scope["type"] == "http":
            context.viewer = await authenticate(bearer_token(request.headers.get("authorization")))
        return context

    async def on_ws_connect(self, context: Context) -> None:
        params = context.connection_params or {}
        raw = params.get("authorization") or params.get("Authorization")
        # A token is text UTF-8 can hold: a lone surrogate (the JSON escape "\ud800", which
        # no header can carry but a connection_init payload can) is no token at all, as a
        # non-string is; hashing it would raise and drop the socket without a close code.
        token = raw if isinstance(raw, str) and is_storable(raw) else None
        viewer = await authenticate(bearer_token(token))
        if viewer is None:
            raise ConnectionRejectionError()
        context.viewer = viewer
        websocket: WebSocket = context.request  # a WebSocket's context holds the socket as its request
        websocket.state.viewer = viewer
        self.connections.opened(viewer)
        return None


@dataclass
class _RequestData(GraphQLRequestData):
    document_id: object = None


def _is_request_error(result: ExecutionResult, errors: list[GraphQLError]) -> bool:
    """The document did not parse or validate (Strawberry's PreExecutionError), or
    graphql-core refused its variables before running anything (no data, and errors with
    no path: a field's error always has one)."""
    if isinstance(result, PreExecutionError):
        return True
    return result.data is None and bool(errors) and all(error.path is None for error in errors)


def _request_error_response(error: RequestError, media_type: str) -> Response:
    status = error.status_code if media_type != JSON else error.json_status
    # Encoded as Strawberry encodes every other answer (json.dumps, non-ASCII escaped): a
    # message may quote the client's text (an unknown operationName), and a lone surrogate
    # in it, which JSONResponse's UTF-8 encoding cannot hold, would make the refusal a 500.
    return Response(
        json.dumps({"errors": [error.formatted()]}, separators=(",", ":")), status_code=status, media_type=media_type,
        headers={**VARY_ACCEPT, **error.headers},
    )
