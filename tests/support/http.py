"""GraphQL over HTTP, for any httpx.AsyncClient whose base URL is the server: the app
in-process (ASGI transport) or a real server on a port."""
from __future__ import annotations

from typing import Any

import httpx
import orjson


async def post_graphql(client: httpx.AsyncClient, query: str, variables: object, token: str | None = None, *,
                       operation_name: str | None = None, headers: dict[str, str] | None = None) -> httpx.Response:
    """POST /graphql with exactly these variables (None is sent as null); the raw response,
    for tests that look at odd answers."""
    body: dict[str, object] = {"query": query, "variables": variables}
    if operation_name is not None:
        body["operationName"] = operation_name
    sent = {"authorization": f"Bearer {token}"} if token else {}
    return await client.post("/graphql", json=body, headers={**sent, **(headers or {})})


async def gql(client: httpx.AsyncClient, query: str, variables: dict | None = None, token: str | None = None) -> dict:
    """POST /graphql; the JSON answer (which must come with status 200)."""
    response = await post_graphql(client, query, variables or {}, token)
    assert response.status_code == 200, response.text
    return response.json()


async def comparable_answer(client: httpx.AsyncClient, query: str, variables: object, token: str | None,
                            operation_name: str | None = None) -> tuple[int, bytes]:
    """The status and the body, a JSON body re-serialised from its parsed value: the same
    bytes mean the same values in the same order (other bodies, a plain-text 400 say, as sent)."""
    response = await post_graphql(client, query, variables, token, operation_name=operation_name)
    if not response.headers.get("content-type", "").startswith("application/json"):
        return response.status_code, response.content
    return response.status_code, orjson.dumps(orjson.loads(response.content))


def data(result: dict) -> dict:
    """The answer's `data`, which must come without errors."""
    assert not result.get("errors"), result.get("errors")
    return result["data"]


def error_codes(result: dict) -> list[str | None]:
    """The `extensions.code` of each error of the answer."""
    return [e.get("extensions", {}).get("code") for e in result.get("errors") or []]


async def mutate(client: httpx.AsyncClient, document: str, variables: dict, token: str) -> Any:
    """Run a mutation that must succeed (no errors, no userErrors); returns its payload."""
    payload = next(iter(data(await gql(client, document, variables, token=token)).values()))
    assert payload.get("userErrors") == [], payload
    return payload
