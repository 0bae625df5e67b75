"""`/`: where to go. A person (a browser asks for text/html) gets a short page linking to
GraphiQL and naming the WebSocket and health URLs; any other client gets the same as JSON.
A page rather than a redirect: it also tells what GraphiQL cannot (the WebSocket URL and
its protocol, the health check), and a JSON client gets something it can read."""
from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from server.graphiql.assets import url
from server.graphiql.headers import html_headers

PROTOCOL = "graphql-transport-ws"


def pointers(request: Request) -> dict[str, str]:
    base = str(request.base_url).rstrip("/")
    websocket = ("wss" if request.url.scheme == "https" else "ws") + base[base.index(":"):]
    return {
        "graphql": f"{base}/graphql",
        "graphiql": f"{base}/graphql",
        "websocket": f"{websocket}/graphql",
        "websocketProtocol": PROTOCOL,
        "health": f"{base}/healthz",
        "ready": f"{base}/readyz",
    }


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


async def landing(request: Request) -> Response:
    links = pointers(request)
    if not _wants_html(request):
        return JSONResponse(links, headers={"X-Content-Type-Options": "nosniff", "Vary": "Accept"})
    e = {key: escape(value) for key, value in links.items()}
    body = (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f'<title>teaminbox</title><link rel="stylesheet" href="{escape(url("graphiql-page.css"))}"></head>'
        '<body class="landing"><h1>teaminbox</h1>'
        f'<p>GraphQL: <a href="/graphql">{e["graphql"]}</a> (open it in a browser for GraphiQL; '
        "log in there with the <code>login</code> mutation, then set "
        "<code>Authorization: Bearer &lt;token&gt;</code> in its Headers tab).</p>"
        f"<p>WebSocket: <code>{e['websocket']}</code>, protocol <code>{PROTOCOL}</code> "
        "(send <code>{\"authorization\": \"Bearer &lt;token&gt;\"}</code> in <code>connection_init</code>).</p>"
        f'<p>Health: <a href="/healthz">{e["health"]}</a>, readiness: <a href="/readyz">{e["ready"]}</a>.</p>'
        "</body></html>\n"
    )
    return HTMLResponse(body, headers={**html_headers(request), "Vary": "Accept"})
