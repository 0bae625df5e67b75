"""Twilio Programmable Messaging.

Sources (read 2026):
- Messages resource, create: https://www.twilio.com/docs/messaging/api/message-resource
  (POST /2010-04-01/Accounts/{AccountSid}/Messages.json, form fields To, From, Body,
  StatusCallback; HTTP Basic auth with the Account SID and auth token; 201 with the
  message JSON, `sid` and `status`; statuses queued, accepted, scheduled, sending, sent,
  delivered, undelivered, failed, read, partially_delivered, canceled, receiving,
  received: twilio-python twilio/rest/api/v2010/account/message/__init__.py, Status).
- Errors: https://www.twilio.com/docs/usage/twilios-response and
  https://www.twilio.com/docs/api/errors: JSON {code, message, more_info, status};
  20003 Authenticate (401), 20429 Too Many Requests, 21211 invalid To, 21610 the
  recipient replied STOP, 30003 unreachable, 30006 landline, 30007 carrier filtering.
- Status callbacks: https://www.twilio.com/docs/messaging/guides/outbound-message-status-in-status-callbacks
  (form-encoded MessageSid, MessageStatus, ErrorCode, SmsSid, SmsStatus, AccountSid,
  From, To, ApiVersion; none for the initial status).
- Inbound: https://www.twilio.com/docs/messaging/guides/webhook-request (form-encoded
  MessageSid, From, To, Body, NumMedia, SmsStatus=received, ...; no timestamp).
- Signatures: https://www.twilio.com/docs/usage/security and twilio-python
  twilio/request_validator.py: base64(HMAC-SHA1(auth token, URL + each parameter's
  name and value, names sorted, a name's distinct values sorted)); the URL is tried as
  given, without its port and with the scheme's default port.

Our message id travels as `messageId` in the StatusCallback URL: Twilio signs the URL
it calls, so the id cannot be altered, and reports match before the sid is stored.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import quote, urlsplit, urlunsplit

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
    with_query,
)
from providers.forms import form, form_pairs, message_id, query, text
from providers.transport import DEFAULT_TIMEOUT, Answer, post, refused

API_BASE = "https://api.twilio.com"
SIGNATURE_HEADER = "x-twilio-signature"
MESSAGE_ID_PARAMETER = "messageId"
OPTED_OUT = "21610"

STATES: dict[str, ReportedState | None] = {
    "accepted": None, "scheduled": None, "queued": None, "sending": None,
    "sent": ReportedState.SENT,
    # Some segments delivered, not all: it left Twilio, no more is known.
    "partially_delivered": ReportedState.SENT,
    "delivered": ReportedState.DELIVERED,
    "read": ReportedState.DELIVERED,  # read receipts (WhatsApp, RCS) come after delivery
    "undelivered": ReportedState.FAILED,
    "failed": ReportedState.FAILED,
    "canceled": ReportedState.FAILED,  # a scheduled message cancelled: never sent
    "receiving": None, "received": None,  # inbound statuses: nothing to move
}

# Status callbacks carry ErrorCode only; the dictionary's titles make it readable.
ERROR_MESSAGES = {
    "21211": "Invalid 'To' phone number",
    "21408": "Sending to this region is not enabled on the Twilio account",
    "21610": "The recipient has opted out (replied STOP)",
    "21612": "The 'To' number cannot be reached from this 'From' number",
    "21614": "The 'To' number is not a mobile number",
    "30001": "Queue overflow",
    "30002": "Twilio account suspended",
    "30003": "Unreachable destination handset",
    "30004": "Message blocked",
    "30005": "Unknown destination handset",
    "30006": "Landline or unreachable carrier",
    "30007": "Message filtered by the carrier",
    "30008": "Unknown error",
    "30010": "Message price exceeds max price",
}


def signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """X-Twilio-Signature for a request to `url` with these POST parameters."""
    values: dict[str, set[str]] = {}
    for name, value in params:
        values.setdefault(name, set()).add(value)
    signed = url + "".join(name + value for name in sorted(values) for value in sorted(values[name]))
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _url_forms(url: str) -> set[str]:
    """The URL as given, without its port, and with the scheme's default port: what
    Twilio signed depends on how the URL was configured."""
    forms = {url}
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return forms
    if port is not None:
        forms.add(urlunsplit(parts._replace(netloc=parts.netloc.rsplit(":", 1)[0])))
    elif parts.scheme in ("http", "https") and parts.netloc:
        default = 443 if parts.scheme == "https" else 80
        forms.add(urlunsplit(parts._replace(netloc=f"{parts.netloc}:{default}")))
    return forms


def _error(answer: Answer) -> tuple[str | None, str | None]:
    data = answer.json()
    if not isinstance(data, dict):
        return None, None
    code = data.get("code")
    code_text = str(code) if isinstance(code, int | str) and not isinstance(code, bool) and str(code) else None
    message = data.get("message") if isinstance(data.get("message"), str) else None
    more_info = data.get("more_info")
    if message and isinstance(more_info, str) and more_info:
        message = f"{message} ({more_info})"
    return code_text, message


def _failure(code: str | None, status: str) -> str:
    if code is None:
        return f"Twilio reported the message {status}"
    return ERROR_MESSAGES.get(code, f"Twilio error {code}") + f" (https://www.twilio.com/docs/errors/{code})"


class Twilio:
    name = "twilio"

    def __init__(self, timeout: httpx.Timeout = DEFAULT_TIMEOUT):
        self.timeout = timeout

    async def send(self, http: httpx.AsyncClient, credentials: Credentials, message: OutboundMessage) -> SendResult:
        base = (credentials.url or API_BASE).rstrip("/")
        url = f"{base}/2010-04-01/Accounts/{quote(credentials.api_key, safe='')}/Messages.json"
        fields = {
            "To": message.to_number,
            "From": credentials.sender_number,
            "Body": message.body,
            "StatusCallback": with_query(message.status_url, f"{MESSAGE_ID_PARAMETER}={message.message_id}"),
        }
        answer = await post(http, url, timeout=self.timeout, data=fields, headers={"accept": "application/json"},
                            auth=httpx.BasicAuth(credentials.api_key, credentials.api_secret))
        if isinstance(answer, SendResult):
            return answer
        if not 200 <= answer.status < 300:
            return refused(answer, "Twilio", _error, frozenset({OPTED_OUT}))
        data = answer.json()
        sid = data.get("sid") if isinstance(data, dict) else None
        return SendResult(SendOutcome.ACCEPTED, provider_message_id=sid if isinstance(sid, str) and sid else None)

    def verify(self, credentials: Credentials, request: CallbackRequest, account_id: int) -> bool:
        given = request.headers.get(SIGNATURE_HEADER)
        if not credentials.api_secret or not given:
            return False
        try:
            params = form_pairs(request.body)
        except CallbackError:
            return False
        # Compared as bytes: compare_digest refuses str with non-ASCII characters.
        given_bytes = given.strip().encode("utf-8", "surrogatepass")
        return any(
            hmac.compare_digest(signature(credentials.api_secret, url, params).encode(), given_bytes)
            for url in _url_forms(request.url)
        )

    def is_inbound(self, request: CallbackRequest) -> bool:
        try:
            params = form(request.body)
        except CallbackError:
            return False
        status = params.get("MessageStatus") or params.get("SmsStatus")
        return status in ("received", "receiving") or (status is None and "Body" in params)

    def parse_status(self, request: CallbackRequest) -> StatusReport:
        params = form(request.body)
        status = params.get("MessageStatus") or params.get("SmsStatus")
        if not status:
            raise CallbackError("MessageStatus", "MessageStatus is missing")
        sid = params.get("MessageSid") or params.get("SmsSid") or None
        ours = query(request.url).get(MESSAGE_ID_PARAMETER, [None])[0]
        our_id = message_id(ours, MESSAGE_ID_PARAMETER)
        if sid is None and our_id is None:
            raise CallbackError("MessageSid", "MessageSid is missing")
        state = STATES.get(status.strip().lower())
        if state is not ReportedState.FAILED:
            return StatusReport(sid, our_id, state)
        code = params.get("ErrorCode", "").strip() or None
        readable = params.get("ErrorMessage", "").strip() or _failure(code, status)
        return StatusReport(sid, our_id, state, error_code=code, error_message=readable, opted_out=code == OPTED_OUT)

    def parse_inbound(self, request: CallbackRequest) -> InboundMessage:
        params: dict[str, str | None] = dict(form(request.body))
        sid = params.get("MessageSid") or params.get("SmsMessageSid") or params.get("SmsSid")
        if not sid or not sid.strip():
            raise CallbackError("MessageSid", "MessageSid must be a non-empty string")
        body = params.get("Body")
        if body is None:
            raise CallbackError("Body", "Body is missing")
        return InboundMessage(
            provider_message_id=sid.strip(),
            from_number=text(params, "From") or "",
            to_number=text(params, "To"),
            body=body,
            received_at=None,  # Twilio's inbound request carries no time: it is sent as received
        )

    def callback_query(self, credentials: Credentials, account_id: int) -> str:
        return ""  # every callback is signed over its full URL and parameters
