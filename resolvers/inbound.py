"""Inbound customer messages from the messaging provider's webhook."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import phonenumbers
from tortoise.exceptions import IntegrityError

from models import (
    PLAN_CAPABILITIES,
    Account,
    Capability,
    Contact,
    Conversation,
    ConversationStatus,
    Message,
    MessageDirection,
    NotificationKind,
)
from resolvers.conversations import set_status
from resolvers.counts import move_conversation
from resolvers.errors import storable_text, validation
from resolvers.messages import clean_body, record_message
from resolvers.notifications import notify
from resolvers.opt_out import apply_keyword
from resolvers.outbox import Outbox, utcnow, write_transaction

MAX_EXTERNAL_ID_LENGTH = 200
# Concurrent deliveries for the same new contact or retried ids collide on unique keys;
# the loser retries in a new transaction and finds what the winner stored.
_ATTEMPTS = 3


@dataclass(frozen=True)
class InboundMessage:
    external_id: str
    from_phone: str
    to_phone: str
    body: str
    received_at: datetime | None


def normalise_phone(raw: Any, field: str) -> str:
    """E.164 ('+14155550123'). Numbers must carry their country code ('+' or '00')."""
    if not isinstance(raw, str) or not raw.strip():
        raise validation("A phone number is required", field)
    return _e164(raw, field)


@lru_cache(maxsize=4096)  # pure, and the same customers write again and again (errors are not cached)
def _e164(raw: str, field: str) -> str:
    text = raw.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        raise validation(f"'{raw[:40]}' is not a phone number with a country code (E.164)", field) from None
    if not phonenumbers.is_valid_number(number):
        raise validation(f"'{raw[:40]}' is not a valid phone number", field)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _parse_time(raw: Any) -> datetime | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise validation("receivedAt must be an ISO-8601 string", "receivedAt")
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise validation("receivedAt must be an ISO-8601 time, e.g. 2026-11-25T14:00:00Z", "receivedAt") from None
    if value.tzinfo is None:
        raise validation("receivedAt must include a time zone", "receivedAt")
    try:
        in_utc = value.astimezone(UTC)
    except OverflowError:  # the calendar's first or last day, in a zone that leaves it
        raise validation("receivedAt is out of range", "receivedAt") from None
    # A provider's clock ahead of ours must not put the message in the future.
    return min(in_utc, utcnow())


def parse_inbound(data: Any) -> InboundMessage:
    """Validate the webhook's JSON body, naming the first field that is wrong."""
    if not isinstance(data, dict):
        raise validation("Body must be a JSON object", None)
    external_id = data.get("id")
    if not isinstance(external_id, str) or not external_id.strip() or len(external_id) > MAX_EXTERNAL_ID_LENGTH:
        raise validation(f"id must be a non-empty string of at most {MAX_EXTERNAL_ID_LENGTH} characters", "id")
    storable_text(external_id, "id")
    if not isinstance(data.get("body"), str):
        raise validation("body must be a string", "body")
    return InboundMessage(
        external_id=external_id.strip(),
        from_phone=normalise_phone(data.get("from"), "from"),
        to_phone=normalise_phone(data.get("to"), "to"),
        body=clean_body(data["body"]),
        received_at=_parse_time(data.get("receivedAt")),
    )


async def receive_inbound(account: Account, inbound: InboundMessage) -> tuple[Message, bool]:
    """Store an inbound message in its contact's conversation (created, or reopened when
    closed) and notify the assignee. Idempotent on the provider's id: a retry returns the
    stored message and `created=False`. Returns (message, created)."""
    for attempt in range(_ATTEMPTS):
        # Most deliveries are new: the first attempt goes straight to the insert, and the
        # unique (account, external id) key turns a retry into an IntegrityError.
        if attempt > 0:
            existing = await Message.get_or_none(account_id=account.id, external_id=inbound.external_id)
            if existing is not None:
                return existing, False
        try:
            async with write_transaction(account.id) as outbox:
                message = await _store(account, inbound, outbox)
        except IntegrityError:
            if attempt == _ATTEMPTS - 1:
                raise
            continue
        await outbox.publish()
        return message, True
    raise AssertionError("unreachable")


async def _first_conversation_of(
    account: Account, inbound: InboundMessage, received_at: datetime, outbox: Outbox
) -> tuple[Conversation, bool]:
    """The conversation of a number whose first lookup found none: its contact may exist
    without one (or a concurrent first message made both). Returns (conversation, created)."""
    connection = outbox.connection
    contact = await Contact.get_or_none(account_id=account.id, phone=inbound.from_phone, using_db=connection)
    if contact is None:
        contact = await Contact.create(account_id=account.id, phone=inbound.from_phone, using_db=connection)
    conversation = await (
        Conversation.filter(contact_id=contact.id).select_for_update(no_key=True).using_db(connection).first()
    )
    if conversation is not None:
        return conversation, False
    conversation = await Conversation.create(
        account_id=account.id, contact_id=contact.id, status=ConversationStatus.OPEN,
        last_activity_at=received_at, using_db=connection,
    )
    await move_conversation(connection, account.id, None, (ConversationStatus.OPEN, None))
    return conversation, True


async def _store(account: Account, inbound: InboundMessage, outbox: Outbox) -> Message:
    connection = outbox.connection
    received_at = inbound.received_at or utcnow()
    # A known customer's conversation in one statement, row-locked (its status, assignee
    # and activity are read to be changed); contact and conversation are looked up (and
    # made) one by one only for the first message of a number.
    conversation = await Conversation.filter(
        account_id=account.id, contact__phone=inbound.from_phone,
    ).select_for_update(no_key=True, of=("conversation",)).using_db(connection).first()
    new_conversation = False
    if conversation is None:
        conversation, new_conversation = await _first_conversation_of(account, inbound, received_at, outbox)
    if not new_conversation:
        await set_status(conversation, ConversationStatus.OPEN, outbox, actor_id=None)
    message = await Message.create(
        account_id=account.id, conversation_id=conversation.id, direction=MessageDirection.INBOUND,
        body=inbound.body, external_id=inbound.external_id, created_at=received_at,
        using_db=connection,
    )
    await record_message(conversation, message, outbox, new_conversation=new_conversation)
    await apply_keyword(connection, conversation.contact_id, inbound.body, received_at)
    if conversation.assignee_id is not None and Capability.TEAM_INBOX in PLAN_CAPABILITIES[account.plan]:
        await notify(outbox, conversation.assignee_id, NotificationKind.NEW_MESSAGE, conversation, message=message)
    return message
