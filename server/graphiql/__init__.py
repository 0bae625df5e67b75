"""GraphiQL served from teaminbox's own pinned assets (no CDN): the page for a browser's
GET /graphql, its static assets, and the landing page at /.

Interface used by server/app.py and server/graphql_view.py (kept stable):
- `routes()`: the routes this package serves (assets; `/`).
- `page(request)`: the GraphiQL HTML page for GET /graphql from a browser.

Where the files come from: vendor.py (a maintainer script) takes them from the npm
registry's tarballs at pinned versions into static/, with static/manifest.json."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from server.graphiql.assets import PREFIX, serve
from server.graphiql.landing import landing
from server.graphiql.page import graphiql_page


async def page(request: Request) -> Response:
    return await graphiql_page(request)


def routes() -> list[BaseRoute]:
    return [
        Route("/", landing),
        Route(PREFIX + "{path:path}", serve),
    ]
