"""The one interface between teaminbox and an SMS provider.

A provider sends a message, tells a genuine callback from a forged one, and turns its
callbacks into a `StatusReport` or an `InboundMessage`. It knows nothing of our models,
database or bus: the delivery worker and the webhook routes hand it plain values and act
on the plain values it returns.

Outcomes of a send (`SendOutcome`), decided from what actually happened on the wire:
- ACCEPTED: the provider took the message (our status becomes SENT).
- NOT_SENT: certainly not sent (429; 503 with Retry-After; 408; no connection made):
  send again later, after `retry_after` seconds when the provider said so.
- MAYBE_SENT: the request may have reached the provider (a timeout after sending, a
  connection reset, any other 5xx): never resend blindly, wait for a delivery report.
- REJECTED: permanent (a 4xx with the provider's code and message; bad credentials;
  a configuration we cannot send with).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

import httpx


@dataclass(frozen=True)
class Credentials:
    """A channel's configuration: the Twilio Account SID and auth token, the MessageMedia
    API key and secret, or (WEBHOOK) any key and the signing secret. `url` is WEBHOOK's
    endpoint, or an API base URL override for Twilio and MessageMedia (regional
    endpoints, tests)."""
    api_key: str
    api_secret: str
    sender_number: str
    url: str | None = None

    def __repr__(self) -> str:  # never the secret, in a log line or a traceback
        return f"Credentials(api_key={self.api_key!r}, sender_number={self.sender_number!r}, url={self.url!r})"


@dataclass(frozen=True)
class OutboundMessage:
    """One reply to send. `message_id` is ours: the provider carries it back (metadata, or
    the status callback URL) so reports match before we know the provider's id.
    `status_url` is the account's full status callback URL, as messagingChannel.statusUrl
    shows it (the provider's `callback_query` already appended)."""
    message_id: int
    to_number: str
    body: str
    status_url: str


class SendOutcome(str, Enum):
    ACCEPTED = "ACCEPTED"
    NOT_SENT = "NOT_SENT"
    MAYBE_SENT = "MAYBE_SENT"
    REJECTED = "REJECTED"


@dataclass(frozen=True)
class SendResult:
    outcome: SendOutcome
    provider_message_id: str | None = None
    retry_after: float | None = None  # seconds, from the provider's Retry-After
    error_code: str | None = None  # the provider's code (Twilio 21211), or the HTTP status
    error_message: str | None = None  # readable, for the thread and the logs
    opted_out: bool = False  # the provider says the recipient opted out (Twilio 21610)
    # Reports known with the answer, each to apply after its delay in seconds: the built-in
    # simulation's (a real provider's arrive later as callbacks).
    later_reports: tuple[tuple[float, StatusReport], ...] = ()


@dataclass(frozen=True)
class CallbackRequest:
    """A provider's callback as it arrived: `url` is the full URL the provider called, as
    our server reconstructs it from its public URL (path and query string exactly as
    received); header names are lower-case."""
    url: str
    headers: Mapping[str, str]
    body: bytes


class ReportedState(str, Enum):
    SENT = "SENT"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


@dataclass(frozen=True)
class StatusReport:
    """A delivery report. `state` is None for intermediate statuses (Twilio's queued or
    sending, MessageMedia's enroute), which move nothing. The error fields are set for
    FAILED only."""
    provider_message_id: str | None
    our_message_id: int | None
    state: ReportedState | None
    error_code: str | None = None
    error_message: str | None = None
    opted_out: bool = False


@dataclass(frozen=True)
class InboundMessage:
    """A customer's message, phone numbers as the provider wrote them (the inbound path
    normalises and validates them). `to_number` is None when the provider leaves it out:
    MessageMedia omits it on a reply to a message sent without a source number."""
    provider_message_id: str
    from_number: str
    to_number: str | None
    body: str
    received_at: datetime | None


class CallbackError(Exception):
    """A malformed callback: the field that is wrong (None: the body as a whole)."""

    def __init__(self, field: str | None, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


class Provider(Protocol):
    @property
    def name(self) -> str:
        """The provider's name in our URLs: /webhooks/{name}/{accountId}/status."""
        ...

    async def send(self, http: httpx.AsyncClient, credentials: Credentials, message: OutboundMessage) -> SendResult:
        """Send one message; never raises for anything the network or the provider does."""
        ...

    def verify(self, credentials: Credentials, request: CallbackRequest, account_id: int) -> bool:
        """Whether the callback comes from the provider for this account (the account
        the URL names). False for a channel without a secret."""
        ...

    def is_inbound(self, request: CallbackRequest) -> bool:
        """Whether a callback is a customer's message, whichever URL it reached:
        MessageMedia pushes replies to a message's callback URL, our status URL."""
        ...

    def parse_status(self, request: CallbackRequest) -> StatusReport:
        """The report a verified status callback carries; raises CallbackError."""
        ...

    def parse_inbound(self, request: CallbackRequest) -> InboundMessage:
        """The message a verified inbound callback carries; raises CallbackError."""
        ...

    def callback_query(self, credentials: Credentials, account_id: int) -> str:
        """What to append to the account's inbound and status URLs ('?token=...', or ''),
        for a provider whose callbacks carry no signature of their own we can check."""
        ...


def with_query(url: str, query: str) -> str:
    """`url` with `query` (an encoded query string, '?' optional) joined to any query it has."""
    query = query.removeprefix("?")
    if not query:
        return url
    parts = urlsplit(url)
    joined = f"{parts.query}&{query}" if parts.query else query
    return urlunsplit(parts._replace(query=joined))
