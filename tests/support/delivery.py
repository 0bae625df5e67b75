"""Outbound delivery end to end: a real server running its delivery worker, its callback
URLs pointing at itself, an account connected (over GraphQL) to a provider emulator
(tests.support.providers), and what the tests read back: a reply's delivery as a client
sees it, its job as the database holds it, and the clock moved by editing the job."""
from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, TypeVar, cast

import httpx

from models import DeliveryJob, Event
from providers.base import Credentials
from resolvers.delivery import wake_workers
from resolvers.outbox import utcnow
from server.settings import Settings
from subscriptions.events import MESSAGE_DELIVERY_CHANGED
from tests.support.documents import operation
from tests.support.http import data, gql, mutate
from tests.support.live import LiveServer, running_server
from tests.support.ports import free_port
from tests.support.providers.emulator import Callback
from tests.support.providers.messagemedia_emulator import MessageMediaEmulator
from tests.support.providers.twilio_emulator import TwilioEmulator
from tests.support.providers.webhook_emulator import WebhookEmulator
from tests.support.teams import Team
from tests.support.webhook import inbound

SECRET_KEY = "delivery-tests-secret-key"  # TEAMINBOX_SECRET_KEY: at least 16 characters
TIMEOUT = 10.0  # seconds; only turns a hang into a failure

SEND = operation("SendMessage")
THREAD = operation("ConversationThread")
NOTIFICATIONS = operation("Notifications")
# graphql/operations/ holds no document for these yet (one there needs its row in
# tests/test_operations.py's SETUPS): the documents a client would send.
SET_MESSAGING_CHANNEL = """
mutation SetMessagingChannel($input: MessagingChannelInput!) {
  setMessagingChannel(input: $input) {
    account { id messagingChannel { provider senderNumber configured inboundUrl statusUrl } }
    userErrors { code message field }
  }
}"""
MESSAGING_CHANNEL = """
query MessagingChannel {
  viewer { id account { id name plan capabilities webhookSecret
    messagingChannel { provider senderNumber configured inboundUrl statusUrl } } }
}"""
RETRY_MESSAGE = """
mutation RetryMessage($messageId: ID!) {
  retryMessage(messageId: $messageId) {
    message { id body delivery { status errorCode errorMessage updatedAt attempts } }
    userErrors { code message field }
  }
}"""
CONTACT = "query Contact($id: ID!) { conversation(id: $id) { id contact { id phone optedOut } } }"

T = TypeVar("T")


@asynccontextmanager
async def delivery_server(settings: Settings, **changes: Any) -> AsyncIterator[LiveServer]:
    """A real server with its delivery worker on, sealing with SECRET_KEY (unless
    `changes` say otherwise), its public URL its own (so the callback URLs it gives
    providers reach it)."""
    port = free_port()
    given: dict[str, Any] = {"secret_keys": (SECRET_KEY,), **changes}
    configured = replace(settings, delivery_worker=True, public_url=f"http://127.0.0.1:{port}", **given)
    async with running_server(configured, port) as server:
        yield server


def channel_input(provider: str, credentials: Credentials) -> dict[str, Any]:
    """setMessagingChannel's input for an emulator's credentials."""
    given = {"provider": provider, "senderNumber": credentials.sender_number, "apiSecret": credentials.api_secret,
             "url": credentials.url}
    return {**given, "apiKey": credentials.api_key} if credentials.api_key else given


ProviderEmulator = TwilioEmulator | MessageMediaEmulator | WebhookEmulator
# Each provider's emulator by its name in our URLs.
EMULATORS: dict[str, Callable[[], ProviderEmulator]] = {
    "twilio": TwilioEmulator, "messagemedia": MessageMediaEmulator, "webhook": WebhookEmulator}


def provider_of(emulator: ProviderEmulator) -> str:
    if isinstance(emulator, TwilioEmulator):
        return "TWILIO"
    return "MESSAGEMEDIA" if isinstance(emulator, MessageMediaEmulator) else "WEBHOOK"


async def connect(http: httpx.AsyncClient, team: Team, emulator: ProviderEmulator) -> dict[str, Any]:
    """The team's account connected to the emulator, by its admin; the channel as shown."""
    given = channel_input(provider_of(emulator), emulator.credentials())
    payload = await mutate(http, SET_MESSAGING_CHANNEL, {"input": given}, team.admin.token)
    channel: dict[str, Any] = payload["account"]["messagingChannel"]
    return channel


async def conversation_with(http: httpx.AsyncClient, team: Team, phone: str, body: str = "Hello?") -> str:
    """A customer's conversation (their message arrives through the JSON webhook)."""
    conversation_id: str = (await inbound(http, team.account, phone, body))["conversationId"]
    return conversation_id


async def reply(http: httpx.AsyncClient, token: str, conversation_id: str, body: str,
                client_message_id: str | None = None) -> dict[str, Any]:
    """sendMessage, which must succeed; the stored reply."""
    variables = {"conversationId": conversation_id, "body": body, "clientMessageId": client_message_id}
    message: dict[str, Any] = (await mutate(http, SEND, variables, token))["message"]
    return message


async def thread_message(http: httpx.AsyncClient, token: str, conversation_id: str, message_id: str) -> dict[str, Any]:
    """A message of the conversation as the thread shows it (delivery included)."""
    thread = data(await gql(http, THREAD, {"id": conversation_id, "first": 100}, token=token))["conversation"]
    for edge in thread["timeline"]["edges"]:
        node: dict[str, Any] = edge["node"]
        if node["__typename"] == "Message" and node["id"] == message_id:
            return node
    raise AssertionError(f"message {message_id} is not in the thread of conversation {conversation_id}")


async def eventually(fetch: Callable[[], Awaitable[T]], accept: Callable[[T], bool], what: str,
                     timeout: float = TIMEOUT) -> T:
    """Fetch until `accept` holds for the value (returned); fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = await fetch()
        if accept(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {value!r}")
        await asyncio.sleep(0.02)


async def delivery_when(http: httpx.AsyncClient, token: str, conversation_id: str, message_id: str,
                        accept: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
    """The reply's delivery, once `accept` holds for it."""
    message = await eventually(lambda: thread_message(http, token, conversation_id, message_id),
                               lambda node: accept(node["delivery"]), what)
    delivery: dict[str, Any] = message["delivery"]
    return delivery


async def delivery_is(http: httpx.AsyncClient, token: str, conversation_id: str, message_id: str,
                      status: str) -> dict[str, Any]:
    return await delivery_when(http, token, conversation_id, message_id, lambda d: d["status"] == status,
                               f"message {message_id} to be {status}")


async def job_of(message_id: str) -> DeliveryJob:
    return await DeliveryJob.get(message_id=int(message_id))


async def job_state_is(message_id: str, state: str) -> DeliveryJob:
    return await eventually(lambda: job_of(message_id), lambda job: job.state.value == state,
                            f"the job of message {message_id} to be {state}")


async def retry_due_now(message_id: str) -> None:
    """The clock moved to the job's next attempt (its backoff elapsed), and the worker told."""
    await DeliveryJob.filter(message_id=int(message_id)).update(next_attempt_at=utcnow() - timedelta(seconds=1))
    wake_workers()


async def deadline_passed(message_id: str) -> None:
    """The clock moved past the job's deadline (a lease, or the wait for a report)."""
    await DeliveryJob.filter(message_id=int(message_id)).update(deadline=utcnow() - timedelta(seconds=1))


async def notifications_of(http: httpx.AsyncClient, token: str) -> list[dict[str, Any]]:
    answer = data(await gql(http, NOTIFICATIONS, {"first": 50}, token=token))["notifications"]
    return [edge["node"] for edge in answer["edges"]]


async def opted_out(http: httpx.AsyncClient, token: str, conversation_id: str) -> bool:
    contact = data(await gql(http, CONTACT, {"id": conversation_id}, token=token))["conversation"]["contact"]
    return bool(contact["optedOut"])


@dataclass(frozen=True)
class Accepted:
    """A message the emulator took (answered as accepted)."""
    provider_id: str
    to: str
    body: str


def accepted(emulator: ProviderEmulator) -> list[Accepted]:
    """What the emulator accepted, in order."""
    if isinstance(emulator, TwilioEmulator):
        return [Accepted(sid, m.to, m.body) for sid, m in emulator.messages.items()]
    if isinstance(emulator, MessageMediaEmulator):
        return [Accepted(i, m["destination_number"], m["content"]) for i, m in emulator.messages.items()]
    return [Accepted(i, m["to"], m["body"]) for i, m in emulator.messages.items()]


# Each provider's word for our SENT, DELIVERED and FAILED.
_STATUS_WORDS = {
    "TWILIO": {"SENT": "sent", "DELIVERED": "delivered", "FAILED": "undelivered"},
    "MESSAGEMEDIA": {"SENT": "submitted", "DELIVERED": "delivered", "FAILED": "failed"},
    "WEBHOOK": {"SENT": "sent", "DELIVERED": "delivered", "FAILED": "failed"},
}


def report(emulator: ProviderEmulator, provider_id: str, status: str, error_code: str | None = None) -> Callback:
    """The provider's signed delivery report for a message it accepted, saying `status`
    (SENT, DELIVERED or FAILED) in its own words."""
    word = _STATUS_WORDS[provider_of(emulator)][status]
    if isinstance(emulator, TwilioEmulator):
        return emulator.status_callback(provider_id, word, error_code)
    if isinstance(emulator, MessageMediaEmulator):
        return emulator.delivery_report(provider_id, word, error_code)
    extra = {"errorCode": error_code} if error_code else {}
    return emulator.status(provider_id, word, **extra)


def twilio_report_for_request(twilio: TwilioEmulator, index: int, status: str,
                              error_code: str | None = None) -> Callback:
    """The status callback Twilio would send for the `index`th request it received, had it
    taken the message after all (a send that timed out or was cut off): to the request's
    StatusCallback, under a sid our server never learnt."""
    form = twilio.requests[index].form()
    params = {"AccountSid": twilio.account_sid, "ApiVersion": "2010-04-01", "From": form["From"],
              "MessageSid": "SM" + uuid.uuid4().hex, "MessageStatus": status, "To": form["To"]}
    if error_code is not None:
        params["ErrorCode"] = error_code
    return twilio.signed(form["StatusCallback"], params)


async def delivery_events(message_id: str) -> list[str]:
    """The statuses of the reply's stored MessageDeliveryChanged events, in order (the
    durable log clients replay: what every subscriber was or will be told)."""
    rows = await Event.filter(kind=MESSAGE_DELIVERY_CHANGED).order_by("seq").values_list("payload", flat=True)
    return [payload["delivery_status"] for payload in cast(list[dict[str, Any]], rows)
            if payload.get("message_id") == int(message_id)]
