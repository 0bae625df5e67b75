"""MessageMedia's Messages API as its OpenAPI description documents it, on the loopback.

POST /v1/messages, JSON {"messages": [...]} (1 to 100; content 1-5000 characters,
destination_number 1-15, metadata at most 10 pairs of keys up to 100 and string values
up to 256 characters), HTTP Basic with the API key and secret (else 401 {"message":
"Invalid authentication credentials"}); 202 with each message, its `message_id` and
status `queued`; 400 {"message", "details"}. Delivery reports and replies are JSON POSTs
to the message's callback_url (its query string, our token, included), shaped as the
documentation's examples, carrying the message's metadata.
"""
from __future__ import annotations

import base64
import hmac
import re
import secrets
import uuid
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from providers.base import Credentials
from tests.support.providers.emulator import Callback, Emulator, Reject

E164 = re.compile(r"\+?[0-9]{1,15}")
PARSE_FAILURE = "Request failed to parse correctly. Please ensure input is valid and try again."


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class MessageMediaEmulator(Emulator):
    def __init__(self, sender_number: str = "+61491570157") -> None:
        super().__init__()
        self.api_key = secrets.token_urlsafe(15)
        self.api_secret = secrets.token_urlsafe(22)
        self.sender_number = sender_number
        self.messages: dict[str, dict[str, Any]] = {}

    def credentials(self, **changes: Any) -> Credentials:
        values = {"api_key": self.api_key, "api_secret": self.api_secret, "sender_number": self.sender_number,
                  "url": self.url, **changes}
        return Credentials(**values)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/messages", self.send_messages, methods=["POST"])])

    def overloaded(self, status: int, retry_after: str | None) -> Response:
        messages = {429: "API rate limit exceeded", 503: "Service unavailable"}
        headers = {"retry-after": retry_after} if retry_after is not None else {}
        return JSONResponse({"message": messages.get(status, "An error occurred with our API")}, status_code=status,
                            headers=headers)

    async def send_messages(self, request: Request) -> Response:
        recorded = await self.record(request)
        behaviour = self.next_behaviour()
        disrupted = await self.disrupt(request, behaviour)
        if disrupted is not None:
            return disrupted
        if not self._authenticated(request):
            return JSONResponse({"message": "Invalid authentication credentials"}, status_code=401)
        try:
            payload = orjson.loads(recorded.body)
        except orjson.JSONDecodeError:
            return JSONResponse({"message": PARSE_FAILURE, "details": ["Failed to parse message body."]},
                                status_code=400)
        details = _problems(payload)
        if details:
            return JSONResponse({"message": PARSE_FAILURE, "details": details}, status_code=400)
        if isinstance(behaviour, Reject):
            return JSONResponse({"message": behaviour.message or "Invalid request", "details": [str(behaviour.code)]},
                                status_code=behaviour.status)
        accepted = []
        for message in payload["messages"]:
            message_id = str(uuid.uuid4())
            stored = {**message, "message_id": message_id, "status": "queued"}
            self.messages[message_id] = stored
            accepted.append(stored)
        return JSONResponse({"messages": accepted}, status_code=202)

    def _authenticated(self, request: Request) -> bool:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            key, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
        except ValueError:
            return False
        return key == self.api_key and hmac.compare_digest(secret.encode(), self.api_secret.encode())

    def _push(self, url: str, payload: dict[str, Any]) -> Callback:
        headers = {"content-type": "application/json", "date": format_datetime(datetime.now(UTC), usegmt=True),
                   "user-agent": "MessageMedia-Webhooks"}
        return Callback(url, headers, orjson.dumps(payload))

    def delivery_report(self, message_id: str, status: str, error_code: str | None = None) -> Callback:
        """The delivery report MessageMedia pushes to the message's callback_url."""
        message = self.messages[message_id]
        assert message.get("delivery_report") is True and message.get("callback_url"), "no delivery report requested"
        return self._push(message["callback_url"], {
            "callback_url": message["callback_url"], "delivery_report_id": str(uuid.uuid4()),
            "source_number": message["destination_number"], "date_received": _now(), "status": status, "delay": 0,
            "billing_units": 1, "submitted_date": _now(), "original_text": message["content"],
            "message_id": message_id, "vendor_account_id": {"vendor_id": "MessageMedia", "account_id": "MyAccount"},
            "error_code": error_code or {"delivered": "220", "submitted": "210", "enroute": "101"}.get(status, "400"),
            "metadata": message.get("metadata", {}),
        })

    def reply(self, message_id: str, content: str) -> Callback:
        """The customer's reply to a message, pushed to that message's callback_url."""
        message = self.messages[message_id]
        assert message.get("callback_url"), "the message has no callback_url"
        payload = {
            "metadata": message.get("metadata", {}), "message_id": message_id, "reply_id": str(uuid.uuid4()),
            "date_received": _now(), "callback_url": message["callback_url"],
            "source_number": message["destination_number"],
            "vendor_account_id": {"vendor_id": "MessageMedia", "account_id": "MyAccount"}, "content": content,
        }
        if message.get("source_number"):  # absent when the original had none
            payload["destination_number"] = message["source_number"]
        return self._push(message["callback_url"], payload)

    def inbound(self, url: str, from_number: str, content: str) -> Callback:
        """A message to the account's number out of the blue, pushed to its webhook URL."""
        return self._push(url, {
            "reply_id": str(uuid.uuid4()), "date_received": _now(), "source_number": from_number,
            "destination_number": self.sender_number, "content": content,
            "vendor_account_id": {"vendor_id": "MessageMedia", "account_id": "MyAccount"}, "metadata": {},
        })


def _problems(payload: Any) -> list[str]:
    if not isinstance(payload, dict) or not isinstance(payload.get("messages"), list):
        return ["messages: is required"]
    messages = payload["messages"]
    if not 1 <= len(messages) <= 100:
        return ["messages: must hold 1 to 100 messages"]
    problems: list[str] = []
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message, dict):
            problems.append(f"{where}: must be an object")
            continue
        content, destination = message.get("content"), message.get("destination_number")
        if not isinstance(content, str) or not 1 <= len(content) <= 5000:
            problems.append(f"{where}.content: must be 1 to 5000 characters")
        if not isinstance(destination, str) or not E164.fullmatch(destination):
            problems.append(f"{where}.destination_number: must be a number of 1 to 15 digits")
        if "callback_url" in message and not isinstance(message["callback_url"], str):
            problems.append(f"{where}.callback_url: must be a string")
        if "delivery_report" in message and not isinstance(message["delivery_report"], bool):
            problems.append(f"{where}.delivery_report: must be a boolean")
        if message.get("format", "SMS") not in ("SMS", "MMS", "TTS"):
            problems.append(f"{where}.format: must be SMS, MMS or TTS")
        if message.get("source_number_type", "INTERNATIONAL") not in ("INTERNATIONAL", "ALPHANUMERIC", "SHORTCODE"):
            problems.append(f"{where}.source_number_type: must be INTERNATIONAL, ALPHANUMERIC or SHORTCODE")
        metadata = message.get("metadata", {})
        if not isinstance(metadata, dict) or len(metadata) > 10 or any(
            len(key) > 100 or not isinstance(value, str) or len(value) > 256 for key, value in metadata.items()
        ):
            problems.append(f"{where}.metadata: at most 10 string pairs, keys to 100 and values to 256 characters")
    return problems
