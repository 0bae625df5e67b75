"""The inbound webhook as the messaging provider calls it: a JSON body signed with the
account's secret (X-Signature: sha256=<hex HMAC>)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import orjson

from server.webhook import sign


class WebhookAccount(Protocol):
    """What a signed delivery needs of an account: an Account row, or the ids a
    deployment's `teaminbox create-account` printed."""

    @property
    def id(self) -> int: ...

    @property
    def webhook_secret(self) -> str: ...


@dataclass(frozen=True)
class AccountRef:
    """An account known by what `teaminbox create-account` prints: its id and secret."""
    id: int
    webhook_secret: str


async def post_webhook(client: httpx.AsyncClient, account_id: object, body: bytes,
                       signature: str | None) -> httpx.Response:
    """POST /webhooks/inbound/{account_id} with exactly these bytes and signature (None: no header)."""
    headers = {"content-type": "application/json"}
    if signature is not None:
        headers["x-signature"] = signature
    return await client.post(f"/webhooks/inbound/{account_id}", content=body, headers=headers)


async def post_inbound(client: httpx.AsyncClient, account: WebhookAccount, payload: dict[str, Any],
                       secret: str | None = None) -> httpx.Response:
    """Deliver `payload`, signed with the account's secret (or `secret`); the raw response."""
    body = orjson.dumps(payload)
    return await post_webhook(client, account.id, body, sign(secret or account.webhook_secret, body))


def inbound_message(phone: str, body: str = "Hello", external_id: str | None = None) -> dict[str, Any]:
    """A provider's message from `phone` (a fresh provider id unless given)."""
    return {"id": external_id or f"ext-{uuid.uuid4().hex}", "from": phone, "to": "+14155550100", "body": body}


async def inbound(client: httpx.AsyncClient, account: WebhookAccount, phone: str, body: str = "Hello",
                  external_id: str | None = None) -> dict:
    """Deliver a customer's message, which must be accepted; returns its JSON answer."""
    response = await post_inbound(client, account, inbound_message(phone, body, external_id))
    assert response.status_code == 200, response.text
    return response.json()
