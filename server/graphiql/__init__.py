"""GraphiQL served from teaminbox's own pinned assets (no CDN): the page for a browser's
GET /graphql, its static assets, and the landing page at /.

Interface used by server/app.py and server/graphql_view.py (kept stable):
- `routes()`: the routes this package serves (assets; `/`).
- `page(request)`: the GraphiQL HTML page for GET /graphql from a browser."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route


async def page(request: Request) -> Response:
    return HTMLResponse("<!doctype html><title>GraphiQL</title><p>GraphiQL is not packaged yet.</p>")


async def home(request: Request) -> Response:
    return HTMLResponse('<!doctype html><title>teaminbox</title><p><a href="/graphql">GraphiQL</a></p>')


def routes() -> list[BaseRoute]:
    return [Route("/", home)]
