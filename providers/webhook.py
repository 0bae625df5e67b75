"""WEBHOOK: our own signed JSON, for any other provider behind a small bridge.

Every body, in either direction, is signed `X-Signature: sha256=<hex HMAC-SHA256 of the
raw body, keyed with the channel's secret>` (the scheme of POST /webhooks/inbound).

- Send: POST to the channel's URL `{"id": <our message id>, "to", "from", "body",
  "statusUrl"}`. A 2xx answer `{"id": "<the bridge's id>"}` means accepted (a 2xx without
  an id still does). A refusal (4xx) may say `{"code", "message", "optedOut": true}`.
  429, 503 with Retry-After and the rest follow providers.transport.
- Status, POSTed to statusUrl: `{"id": "<the bridge's id>", "messageId": <our id>,
  "status": "sent" | "delivered" | "failed", "errorCode", "errorMessage", "optedOut"}`
  (`id` or `messageId` required).
- Inbound: the body of POST /webhooks/inbound, `{"id", "from", "to", "body",
  "receivedAt"}` (`receivedAt` optional, ISO-8601 with a zone).
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace

import httpx
import orjson

from providers.base import (
    CallbackError,
    CallbackRequest,
    Credentials,
    InboundMessage,
    OutboundMessage,
    ReportedState,
    SendOutcome,
    SendResult,
    StatusReport,
)
from providers.forms import code_text, json_object, message_id, text, timestamp
from providers.transport import DEFAULT_TIMEOUT, Answer, post, refused, unsendable

SIGNATURE_HEADER = "x-signature"
STATES = {"sent": ReportedState.SENT, "delivered": ReportedState.DELIVERED, "failed": ReportedState.FAILED}


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signed(secret: str, header: str | None, body: bytes) -> bool:
    """Whether `header` is the body's signature, in constant time."""
    if not secret or header is None:
        return False
    # Compared as bytes: compare_digest refuses str with non-ASCII characters.
    return hmac.compare_digest(sign(secret, body).encode(), header.encode("utf-8", "surrogatepass"))


def _error(answer: Answer) -> tuple[str | None, str | None]:
    data = answer.json()
    if not isinstance(data, dict):
        return None, None
    message = data.get("message") or data.get("error")
    return code_text(data.get("code")), message if isinstance(message, str) else None


class Webhook:
    name = "webhook"

    def __init__(self, timeout: httpx.Timeout = DEFAULT_TIMEOUT):
        self.timeout = timeout

    async def send(self, http: httpx.AsyncClient, credentials: Credentials, message: OutboundMessage) -> SendResult:
        if not credentials.url:
            return SendResult(SendOutcome.REJECTED, error_code="CONFIGURATION",
                              error_message="The WEBHOOK channel has no endpoint URL")
        try:
            body = orjson.dumps({
                "id": message.message_id, "to": message.to_number, "from": credentials.sender_number,
                "body": message.body, "statusUrl": message.status_url,
            })
        except orjson.JSONEncodeError as error:
            return unsendable(error)
        headers = {"content-type": "application/json", "accept": "application/json",
                   "x-signature": sign(credentials.api_secret, body)}
        answer = await post(http, credentials.url, timeout=self.timeout, content=body, headers=headers)
        if isinstance(answer, SendResult):
            return answer
        data = answer.json()
        if not 200 <= answer.status < 300:
            result = refused(answer, "The webhook bridge", _error)
            opted_out = isinstance(data, dict) and data.get("optedOut") is True
            return replace(result, opted_out=True) if opted_out and result.outcome is SendOutcome.REJECTED else result
        bridge_id = code_text(data.get("id")) if isinstance(data, dict) else None
        return SendResult(SendOutcome.ACCEPTED, provider_message_id=bridge_id)

    def verify(self, credentials: Credentials, request: CallbackRequest, account_id: int) -> bool:
        return signed(credentials.api_secret, request.headers.get(SIGNATURE_HEADER), request.body)

    def is_inbound(self, request: CallbackRequest) -> bool:
        try:
            data = json_object(request.body)
        except CallbackError:
            return False
        return "from" in data and "status" not in data

    def parse_status(self, request: CallbackRequest) -> StatusReport:
        data = json_object(request.body)
        status = (text(data, "status") or "").lower()
        state = STATES.get(status)
        if state is None:
            raise CallbackError("status", "status must be one of sent, delivered, failed")
        raw_id = data.get("id")
        if raw_id is not None and code_text(raw_id) is None:
            raise CallbackError("id", "id must be a non-empty string")
        provider_id = code_text(raw_id)
        our_id = message_id(data.get("messageId"), "messageId")
        if provider_id is None and our_id is None:
            raise CallbackError("messageId", "messageId or id is required")
        opted_out = data.get("optedOut", False)
        if not isinstance(opted_out, bool):
            raise CallbackError("optedOut", "optedOut must be a boolean")
        if state is not ReportedState.FAILED:
            return StatusReport(provider_id, our_id, state)
        code = code_text(data.get("errorCode"))
        readable = data.get("errorMessage")
        if readable is not None and not isinstance(readable, str):
            raise CallbackError("errorMessage", "errorMessage must be a string")
        return StatusReport(provider_id, our_id, state, error_code=code,
                            error_message=(readable or "").strip() or "The webhook bridge reported a failure",
                            opted_out=opted_out)

    def parse_inbound(self, request: CallbackRequest) -> InboundMessage:
        data = json_object(request.body)
        body = data.get("body")
        provider_id = text(data, "id") or ""
        if not isinstance(body, str):
            raise CallbackError("body", "body must be a string")
        return InboundMessage(
            provider_message_id=provider_id,
            from_number=text(data, "from") or "",
            to_number=text(data, "to"),
            body=body,
            received_at=timestamp(data.get("receivedAt"), "receivedAt", naive_is_utc=False),
        )

    def callback_query(self, credentials: Credentials, account_id: int) -> str:
        return ""  # every callback is signed over its body
