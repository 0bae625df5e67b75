"""A bridge speaking our WEBHOOK protocol (providers/webhook.py), on the loopback.

It takes signed JSON sends at any path (a bad signature: 401; a bad shape: 400
{"code", "message"}), answers 200 {"id"}, and builds the signed status reports and
inbound messages a bridge would post back. The signature is computed here on its own.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from providers.base import Credentials
from tests.support.providers.emulator import Callback, Emulator, Reject


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookEmulator(Emulator):
    def __init__(self, sender_number: str = "+14155550100") -> None:
        super().__init__()
        self.secret = secrets.token_hex(16)
        self.sender_number = sender_number
        self.messages: dict[str, dict[str, Any]] = {}

    def credentials(self, **changes: Any) -> Credentials:
        values = {"api_key": "", "api_secret": self.secret, "sender_number": self.sender_number,
                  "url": self.url + "/send", **changes}
        return Credentials(**values)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/{path:path}", self.send, methods=["POST"])])

    def overloaded(self, status: int, retry_after: str | None) -> Response:
        headers = {"retry-after": retry_after} if retry_after is not None else {}
        return JSONResponse({"code": "UNAVAILABLE", "message": "Try again later"}, status_code=status, headers=headers)

    async def send(self, request: Request) -> Response:
        recorded = await self.record(request)
        behaviour = self.next_behaviour()
        disrupted = await self.disrupt(request, behaviour)
        if disrupted is not None:
            return disrupted
        given = recorded.headers.get("x-signature", "")
        if not hmac.compare_digest(signature(self.secret, recorded.body).encode(), given.encode()):
            return JSONResponse({"error": "invalid signature"}, status_code=401)
        try:
            payload = orjson.loads(recorded.body)
        except orjson.JSONDecodeError:
            return JSONResponse({"code": "BAD_REQUEST", "message": "Body is not JSON"}, status_code=400)
        fields = {"id": int, "to": str, "from": str, "body": str, "statusUrl": str}
        if not isinstance(payload, dict) or any(not isinstance(payload.get(name), t) for name, t in fields.items()):
            return JSONResponse({"code": "BAD_REQUEST", "message": f"Expected the fields {sorted(fields)}"},
                                status_code=400)
        if isinstance(behaviour, Reject):
            return JSONResponse({"code": behaviour.code, "message": behaviour.message or "Refused",
                                 "optedOut": behaviour.code == "RECIPIENT_OPTED_OUT"}, status_code=behaviour.status)
        bridge_id = "br-" + secrets.token_hex(8)
        self.messages[bridge_id] = payload
        return JSONResponse({"id": bridge_id})

    def signed(self, url: str, payload: dict[str, Any]) -> Callback:
        body = orjson.dumps(payload)
        return Callback(url, {"content-type": "application/json", "x-signature": signature(self.secret, body)}, body)

    def status(self, bridge_id: str, status: str, **extra: Any) -> Callback:
        """A status report for a message the bridge accepted, posted to its statusUrl."""
        message = self.messages[bridge_id]
        return self.signed(message["statusUrl"], {"id": bridge_id, "messageId": message["id"], "status": status,
                                                  **extra})

    def inbound(self, url: str, from_number: str, body: str, **extra: Any) -> Callback:
        return self.signed(url, {"id": "br-in-" + secrets.token_hex(8), "from": from_number,
                                 "to": self.sender_number, "body": body, **extra})
