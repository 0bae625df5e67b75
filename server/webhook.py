"""POST /webhooks/inbound/{accountId}: the messaging provider delivers customer messages.

Signed with HMAC-SHA256 over the raw body using the account's webhook secret, sent as
`X-Signature: sha256=<hex>`. Answers: 200 stored (or already stored: retries are
idempotent), 401 bad signature or unknown account, 413 too large, 422 malformed."""
from __future__ import annotations

import hmac

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse

from models import Account
from providers.webhook import sign as sign  # the one signing scheme, also the WEBHOOK provider's; re-exported
from resolvers.errors import DomainError
from resolvers.ids import parse_id
from resolvers.inbound import parse_inbound, receive_inbound

SIGNATURE_HEADER = "x-signature"


async def _account(raw_id: str) -> Account | None:
    """The account an id names, in the canonical form ids are handed out in, or None."""
    try:
        return await Account.get_or_none(id=parse_id(raw_id, "Account"))
    except DomainError:
        return None


def _unauthorised() -> JSONResponse:
    # Same answer for an unknown account and a bad signature: ids are not probed.
    return JSONResponse({"error": "invalid signature"}, status_code=401)


async def inbound_webhook(request: Request) -> JSONResponse:
    body = await request.body()
    account = await _account(request.path_params["account_id"])
    # Compared as bytes: compare_digest refuses str with non-ASCII characters (a 500).
    signature = request.headers.get(SIGNATURE_HEADER, "").encode("latin-1")
    if account is None or not hmac.compare_digest(sign(account.webhook_secret, body).encode(), signature):
        return _unauthorised()
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        return JSONResponse({"error": f"body is not valid JSON: {error}", "field": None}, status_code=422)
    try:
        inbound = parse_inbound(data)
        message, created = await receive_inbound(account, inbound)
    except DomainError as error:
        return JSONResponse({"error": error.message, "field": error.field}, status_code=422)
    return JSONResponse(
        {"messageId": str(message.id), "conversationId": str(message.conversation_id), "duplicate": not created},
        status_code=200,
    )
