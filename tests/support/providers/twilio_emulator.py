"""Twilio's Messages API as Twilio documents it, on the loopback.

POST /2010-04-01/Accounts/{AccountSid}/Messages.json, form-encoded, HTTP Basic with the
Account SID and auth token (else 401 {code 20003, "Authenticate"}); To, From and Body
required, To in E.164 (21211), Body at most 1600 characters (21617), StatusCallback a
URL (21609); 201 with the message resource. Errors are {code, message, more_info,
status}. Callbacks (status reports, inbound messages) are form-encoded and signed with
X-Twilio-Signature as https://www.twilio.com/docs/usage/security describes, computed
here on its own (not with providers.twilio) so the two are checked against each other.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from providers.base import Credentials
from tests.support.providers.emulator import Callback, Emulator, Reject

E164 = re.compile(r"\+[1-9][0-9]{6,14}")
DEFAULT_MESSAGES = {
    "21211": "The 'To' number is not a valid phone number.",
    "21610": "Attempt to send to unsubscribed recipient",
    "21614": "'To' number is not a valid mobile number",
}


def compute_signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """Twilio's documented scheme: the URL, then each parameter's name and value in
    name order, HMAC-SHA1 keyed with the auth token, base64."""
    data = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def error_body(code: int | str, message: str, status: int) -> dict[str, Any]:
    return {"code": int(code), "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status}


@dataclass
class SentMessage:
    sid: str
    to: str
    from_: str
    body: str
    status_callback: str | None


class TwilioEmulator(Emulator):
    def __init__(self, sender_number: str = "+14155550100") -> None:
        super().__init__()
        self.account_sid = "AC" + secrets.token_hex(16)
        self.auth_token = secrets.token_hex(16)
        self.sender_number = sender_number
        self.messages: dict[str, SentMessage] = {}

    def credentials(self, **changes: Any) -> Credentials:
        """A channel pointed at this emulator."""
        values = {"api_key": self.account_sid, "api_secret": self.auth_token, "sender_number": self.sender_number,
                  "url": self.url, **changes}
        return Credentials(**values)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/2010-04-01/Accounts/{account_sid}/Messages.json", self.create,
                                       methods=["POST"])])

    def overloaded(self, status: int, retry_after: str | None) -> Response:
        messages = {429: (20429, "Too Many Requests"), 503: (20503, "Service Unavailable")}
        code, message = messages.get(status, (20500, "Internal Server Error"))
        headers = {"retry-after": retry_after} if retry_after is not None else {}
        return JSONResponse(error_body(code, message, status), status_code=status, headers=headers)

    async def create(self, request: Request) -> Response:
        recorded = await self.record(request)
        behaviour = self.next_behaviour()
        disrupted = await self.disrupt(request, behaviour)
        if disrupted is not None:
            return disrupted
        if not self._authenticated(request):
            return JSONResponse(error_body(20003, "Authenticate", 401), status_code=401,
                                headers={"www-authenticate": 'Basic realm="Twilio API"'})
        params = recorded.form()
        invalid = _invalid(params)
        if invalid is not None:
            return invalid
        if isinstance(behaviour, Reject):
            code = str(behaviour.code)
            message = behaviour.message or DEFAULT_MESSAGES.get(code, f"Error {code}")
            return JSONResponse(error_body(code, message, behaviour.status), status_code=behaviour.status)
        return JSONResponse(self._created(params), status_code=201)

    def _authenticated(self, request: Request) -> bool:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except ValueError:
            return False
        return (user == self.account_sid == request.path_params["account_sid"]
                and hmac.compare_digest(password.encode(), self.auth_token.encode()))

    def _created(self, params: dict[str, str]) -> dict[str, Any]:
        sid = "SM" + secrets.token_hex(16)
        self.messages[sid] = SentMessage(sid, params["To"], params["From"], params["Body"],
                                         params.get("StatusCallback"))
        now = format_datetime(datetime.now(UTC), usegmt=True)
        return {
            "account_sid": self.account_sid, "api_version": "2010-04-01", "body": params["Body"],
            "date_created": now, "date_sent": None, "date_updated": now, "direction": "outbound-api",
            "error_code": None, "error_message": None, "from": params["From"], "messaging_service_sid": None,
            "num_media": "0", "num_segments": "1", "price": None, "price_unit": "USD", "sid": sid,
            "status": "queued", "subresource_uris": {
                "media": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}/Media.json"},
            "to": params["To"], "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }

    def signed(self, url: str, params: dict[str, str]) -> Callback:
        headers = {"content-type": "application/x-www-form-urlencoded",
                   "x-twilio-signature": compute_signature(self.auth_token, url, params),
                   "i-twilio-idempotency-token": secrets.token_hex(16), "user-agent": "TwilioProxy/1.1"}
        return Callback(url, headers, urlencode(params).encode())

    def status_callback(self, sid: str, status: str, error_code: int | str | None = None) -> Callback:
        """The status callback Twilio would send for a message it accepted."""
        message = self.messages[sid]
        assert message.status_callback, "the message was sent without a StatusCallback"
        params = {"AccountSid": self.account_sid, "ApiVersion": "2010-04-01", "From": message.from_,
                  "MessageSid": sid, "MessageStatus": status, "SmsSid": sid, "SmsStatus": status, "To": message.to}
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        return self.signed(message.status_callback, params)

    def inbound(self, url: str, from_number: str, body: str, to_number: str | None = None) -> Callback:
        """A customer's message to the account's number, as Twilio posts it to the number's webhook URL."""
        sid = "SM" + secrets.token_hex(16)
        params = {"AccountSid": self.account_sid, "ApiVersion": "2010-04-01", "Body": body, "From": from_number,
                  "FromCountry": "US", "MessageSid": sid, "NumMedia": "0", "NumSegments": "1",
                  "SmsMessageSid": sid, "SmsSid": sid, "SmsStatus": "received", "To": to_number or self.sender_number,
                  "ToCountry": "US"}
        return self.signed(url, params)


def _invalid(params: dict[str, str]) -> Response | None:
    def error(code: int, message: str) -> Response:
        return JSONResponse(error_body(code, message, 400), status_code=400)

    if not params.get("To"):
        return error(21604, "A 'To' phone number is required.")
    if not params.get("From") and not params.get("MessagingServiceSid"):
        return error(21603, "A 'From' phone number is required.")
    if not params.get("Body") and not params.get("MediaUrl"):
        return error(21602, "Message body is required.")
    if not E164.fullmatch(params["To"]):
        return error(21211, f"The 'To' number {params['To']} is not a valid phone number.")
    if len(params["Body"]) > 1600:
        return error(21617, "The concatenated message body exceeds the 1600 character limit.")
    callback = params.get("StatusCallback")
    if callback is not None and (urlsplit(callback).scheme not in ("http", "https") or not urlsplit(callback).netloc):
        return error(21609, "Invalid 'StatusCallback'")
    return None
