"""MessageMedia (Sinch) Messages API.

Sources (read 2026):
- The API's OpenAPI description, github.com/messagemedia/documentation spec/openapi.yaml
  (Send messages: POST /v1/messages with {"messages": [{content, destination_number,
  source_number, source_number_type, callback_url, delivery_report, format, metadata}]},
  at most 10 metadata pairs, keys up to 100 and values up to 256 characters; 202 with
  each message's `message_id` and `status`; 400 {"message", "details": [...]};
  401/403 {"message": "Invalid authentication credentials"}; Basic auth
  base64(api_key:api_secret) or HMAC; delivery reports and replies pushed as JSON POSTs
  to the message's callback_url, retried with backoff until a 2xx, carrying its
  metadata; statuses enroute, submitted, delivered, expired, rejected, failed with an
  `error_code` (101 ... 414); replies with `reply_id`, the original `message_id`,
  `source_number` (the handset) and `destination_number` (ours, absent when the
  original message had no source number), `content`, `date_received`).
- messagemedia/messages-python-sdk (models/status_2_enum.py adds `undeliverable`;
  http/auth/auth_manager.py, the HMAC scheme).
- Enterprise webhooks, support.messagemedia.com/articles/49982-enterprise-webhooks and
  messagemedia/webhooks-demo signed-webhook-handler.php: a callback may be signed with
  RSA (X-MessageMedia-Signature over request line + Date + body) by a key pair made
  with the Signature Key API, whose public key only that API hands out.

Authentication of sends: HTTP Basic, as the SDKs do by default. The documented HMAC
scheme is inconsistent about its algorithm (hmac-sha256 named, SHA-1-sized example
signatures, the SDK signs hmac-sha1), and over TLS Basic discloses nothing more.

Authentication of callbacks: a channel holds an API key, a secret, a sender number and a
URL, never a signature key, so the RSA signature cannot be checked. Instead every URL we
give MessageMedia (each message's callback_url, the inbound URL pasted into its webhook
settings) carries `token=` base64url(HMAC-SHA256(api secret, "teaminbox:messagemedia:" +
account id)), compared in constant time. Only MessageMedia and the account's admins ever
see it; it is bound to the account (one MessageMedia account connected to two of ours
gives two tokens) and changes with the secret. Our message id rides in `metadata`, which
MessageMedia echoes in every delivery report; it needs no tag of its own, since whoever
could forge one holds the token already.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import httpx

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
from providers.forms import code_text, json_object, message_id, query, text, timestamp
from providers.transport import DEFAULT_TIMEOUT, Answer, post, refused

API_BASE = "https://api.messagemedia.com"
TOKEN_PARAMETER = "token"
METADATA_KEY = "teaminbox_message_id"

STATES: dict[str, ReportedState | None] = {
    "queued": None, "scheduled": None, "processed": None,
    "enroute": None,  # received by the gateway, being processed
    "submitted": ReportedState.SENT,  # handed to a carrier
    "delivered": ReportedState.DELIVERED,
    "expired": ReportedState.FAILED,
    "rejected": ReportedState.FAILED,
    "failed": ReportedState.FAILED,
    "undeliverable": ReportedState.FAILED,
    "cancelled": ReportedState.FAILED,
}

ERROR_MESSAGES = {
    "320": "Message validity period expired before submission",
    "401": "Message validity period expired before delivery",
    "301": "Usage threshold reached; message discarded",
    "302": "Destination blocked on the account (opted out); message discarded",
    "303": "Source address blocked; message discarded",
    "304": "Message dropped; contact MessageMedia support",
    "305": "Message discarded as a duplicate",
    "402": "Message rejected by the downstream provider",
    "403": "Message skipped by the downstream provider",
    "410": "Invalid source address",
    "411": "Invalid destination address",
    "412": "Destination address blocked",
    "413": "SMS service unavailable on the destination",
    "414": "Destination unreachable",
    "330": "Gateway failure",
    "331": "Message discarded",
    "332": "No available route to the destination",
    "333": "Source address unsupported for this destination",
    "400": "Message failed; undeliverable",
    "405": "Message cancelled or deleted by the provider",
}
# MessageMedia adds a number that replied with an opt-out keyword to the account's
# blacklist; a message to it is then discarded with 302.
OPTED_OUT_CODES = frozenset({"302"})


def callback_token(api_secret: str, account_id: int) -> str:
    digest = hmac.new(api_secret.encode(), f"teaminbox:messagemedia:{account_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _error(answer: Answer) -> tuple[str | None, str | None]:
    data = answer.json()
    if not isinstance(data, dict) or not isinstance(data.get("message"), str):
        return None, None
    raw_details = data.get("details")
    details = [item for item in raw_details if isinstance(item, str)] if isinstance(raw_details, list) else []
    return None, data["message"] + (": " + "; ".join(details) if details else "")


class MessageMedia:
    name = "messagemedia"

    def __init__(self, timeout: httpx.Timeout = DEFAULT_TIMEOUT):
        self.timeout = timeout

    async def send(self, http: httpx.AsyncClient, credentials: Credentials, message: OutboundMessage) -> SendResult:
        outbound: dict[str, Any] = {
            "content": message.body,
            "destination_number": message.to_number,
            "format": "SMS",
            "delivery_report": True,
            "callback_url": message.status_url,
            "metadata": {METADATA_KEY: str(message.message_id)},
        }
        if credentials.sender_number:
            outbound["source_number"] = credentials.sender_number
            if credentials.sender_number.startswith("+"):
                outbound["source_number_type"] = "INTERNATIONAL"
        answer = await post(
            http, (credentials.url or API_BASE).rstrip("/") + "/v1/messages", timeout=self.timeout,
            json={"messages": [outbound]}, headers={"accept": "application/json"},
            auth=httpx.BasicAuth(credentials.api_key, credentials.api_secret),
        )
        if isinstance(answer, SendResult):
            return answer
        if not 200 <= answer.status < 300:
            return refused(answer, "MessageMedia", _error)
        data = answer.json()
        sent = data.get("messages") if isinstance(data, dict) else None
        first = sent[0] if isinstance(sent, list) and sent and isinstance(sent[0], dict) else {}
        provider_id = first.get("message_id")
        return SendResult(SendOutcome.ACCEPTED,
                          provider_message_id=provider_id if isinstance(provider_id, str) and provider_id else None)

    def verify(self, credentials: Credentials, request: CallbackRequest, account_id: int) -> bool:
        tokens = query(request.url).get(TOKEN_PARAMETER, [])
        if not credentials.api_secret or len(tokens) != 1:
            return False
        expected = callback_token(credentials.api_secret, account_id).encode()
        return hmac.compare_digest(expected, tokens[0].encode("utf-8", "surrogatepass"))

    def is_inbound(self, request: CallbackRequest) -> bool:
        try:
            return "reply_id" in json_object(request.body)
        except CallbackError:
            return False

    def parse_status(self, request: CallbackRequest) -> StatusReport:
        data = json_object(request.body)
        status = text(data, "status") or ""
        provider_id = text(data, "message_id", required=False)
        metadata = data.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            raise CallbackError("metadata", "metadata must be an object")
        our_id = message_id((metadata or {}).get(METADATA_KEY), f"metadata.{METADATA_KEY}")
        if provider_id is None and our_id is None:
            raise CallbackError("message_id", "message_id is missing")
        state = STATES.get(status.lower())
        if state is not ReportedState.FAILED:
            return StatusReport(provider_id, our_id, state)
        code = code_text(data.get("error_code"))
        fallback = f"MessageMedia error {code}" if code else f"MessageMedia: {status}"
        readable = ERROR_MESSAGES.get(code or "", fallback)
        return StatusReport(provider_id, our_id, state, error_code=code, error_message=readable,
                            opted_out=code in OPTED_OUT_CODES)

    def parse_inbound(self, request: CallbackRequest) -> InboundMessage:
        data = json_object(request.body)
        content = data.get("content")
        if not isinstance(content, str):
            raise CallbackError("content", "content must be a string")
        return InboundMessage(
            provider_message_id=text(data, "reply_id") or "",
            from_number=text(data, "source_number") or "",
            to_number=text(data, "destination_number", required=False),
            body=content,
            received_at=timestamp(data.get("date_received"), "date_received", naive_is_utc=True),
        )

    def callback_query(self, credentials: Credentials, account_id: int) -> str:
        return f"?{TOKEN_PARAMETER}={callback_token(credentials.api_secret, account_id)}"
