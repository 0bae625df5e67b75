"""CORS for browser apps on other origins (TEAMINBOX_ALLOWED_ORIGINS): the preflight, and
`Access-Control-Allow-Origin` with `Vary: Origin` on answers. The WebSocket handshake's
Origin check (server/graphql_view.py) reads the same setting; by default both allow the
same origin only."""
from __future__ import annotations

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

# What GraphQL clients send: Apollo Client's client-awareness and CSRF-prevention
# headers, Apollo's and urql's content negotiation, our bearer token.
ALLOWED_HEADERS = (
    "authorization", "content-type", "accept", "apollographql-client-name", "apollographql-client-version",
    "apollo-require-preflight", "x-apollo-operation-name", "x-requested-with",
)
PREFLIGHT_MAX_AGE_SECONDS = 600


def cross_origin_middleware(allowed_origins: tuple[str, ...]) -> Middleware:
    # Bearer tokens, not cookies: no credentials, so "*" is a safe setting.
    return Middleware(
        CORSMiddleware, allow_origins=list(allowed_origins), allow_methods=["GET", "POST"],
        allow_headers=list(ALLOWED_HEADERS), allow_credentials=False, max_age=PREFLIGHT_MAX_AGE_SECONDS,
        expose_headers=["Retry-After"],  # a 503's hint, readable by the page
    )
