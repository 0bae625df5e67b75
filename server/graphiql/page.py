"""The GraphiQL page for a browser's GET /graphql: our vendored React and GraphiQL, our
page script, and its settings as a JSON data block (data, not script: a strict CSP lets
it through and nothing in it is executed)."""
from __future__ import annotations

import json
from functools import cache
from html import escape
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse

from server.graphiql.assets import url
from server.graphiql.headers import html_headers

WELCOME = Path(__file__).with_name("welcome.graphql")
ENDPOINT = "/graphql"


def _json_for_html(value: object) -> str:
    # In a <script> block only `</script` ends it: escaping `<` keeps any text harmless.
    return json.dumps(value).replace("<", "\\u003c")


@cache
def _html() -> str:
    config = {
        "endpoint": ENDPOINT,
        "welcome": WELCOME.read_text(),
    }
    styles = "".join(f'<link rel="stylesheet" href="{escape(url(name))}">'
                     for name in ("graphiql.min.css", "graphiql-page.css"))
    scripts = "".join(f'<script src="{escape(url(name))}" defer></script>'
                      for name in ("react.production.min.js", "react-dom.production.min.js",
                                   "graphiql.min.js", "graphiql-page.js"))
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        # No icon: a browser would otherwise ask for /favicon.ico (a 404 in its console).
        '<link rel="icon" href="data:,">'
        "<title>teaminbox GraphiQL</title>"
        f"{styles}"
        f'<script id="graphiql-config" type="application/json">{_json_for_html(config)}</script>'
        f"{scripts}</head>"
        '<body><div id="graphiql"><noscript>GraphiQL needs JavaScript. '
        "Without it, POST GraphQL to /graphql.</noscript></div></body></html>\n"
    )


async def graphiql_page(request: Request) -> HTMLResponse:
    return HTMLResponse(_html(), headers=html_headers(request))
