"""The headers of our HTML pages (GraphiQL at /graphql, the landing page at /): a content
security policy that lets the page load and talk to nothing but this server."""
from __future__ import annotations

import re

from starlette.requests import Request

# A host as a URL spells it (name, IPv4, [IPv6], port): anything else in a Host header
# must not reach the policy, where a `;` would start a directive of its own.
_HOST = re.compile(r"[A-Za-z0-9.\-]+(:[0-9]+)?|\[[0-9A-Fa-f:.]+\](:[0-9]+)?")


def content_security_policy(request: Request) -> str:
    # The WebSocket URL of this host, spelled out: `connect-src 'self'` covers ws(s): to
    # the same host only in recent browsers (CSP level 3), and the request's own Host is
    # the one the page was loaded from, behind a proxy too.
    host = request.headers.get("host") or request.url.netloc
    websocket = f"{'wss' if request.url.scheme == 'https' else 'ws'}://{host}" if _HOST.fullmatch(host) else ""
    return "; ".join((
        "default-src 'none'",
        "script-src 'self'",  # the vendored bundles and our page script; no inline script, no eval
        # React and CodeMirror set styles through the DOM (element.style), which CSP allows;
        # nothing inserts <style> elements or style attributes as text, so no 'unsafe-inline'.
        "style-src 'self'",
        "font-src 'self' data:",  # GraphiQL's style embeds its fonts as data: URLs
        "img-src 'self' data:",  # GraphiQL's icons are inline SVG / data: URLs
        f"connect-src 'self' {websocket}".rstrip(),
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ))


def html_headers(request: Request) -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy(request),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
        # The page is rendered per request (its asset URLs change with a release).
        "Cache-Control": "no-cache",
    }
