"""GraphQL over HTTP, for any httpx.AsyncClient whose base URL is the server: the app
in-process (ASGI transport) or a real server on a port."""
from __future__ import annotations

from typing import Any

import httpx


async def gql(client: httpx.AsyncClient, query: str, variables: dict | None = None, token: str | None = None) -> dict:
    """POST /graphql; the JSON answer (which must come with status 200)."""
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


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
