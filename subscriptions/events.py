"""Event kinds, channel names and the one wire format used on every bus backend.

Events are named `noun.verb`. A stored event (with `seq`) is written to the durable
log in the transaction that made the change; typing events are live-only (seq None).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypedDict

import orjson

MESSAGE_CREATED = "message.created"
CONVERSATION_ASSIGNED = "conversation.assigned"
CONVERSATION_STATUS_CHANGED = "conversation.status_changed"
NOTIFICATION_CREATED = "notification.created"
# A reply's delivery status moved (sent, delivered, failed).
MESSAGE_DELIVERY_CHANGED = "message.delivery_changed"
# Live-only (never stored): a member's typing, a member's access ending (logout,
# deactivation) so their open subscriptions stop at once, and a member's role or the
# account's plan changing, so each open subscription checks it may still run.
TYPING_CHANGED = "typing.changed"
ACCESS_REVOKED = "access.revoked"
ACCESS_CHANGED = "access.changed"

# Kinds that move a conversation in or out of inbox views (and so change counts).
CONVERSATION_KINDS = frozenset({MESSAGE_CREATED, CONVERSATION_ASSIGNED, CONVERSATION_STATUS_CHANGED})
STORED_KINDS = CONVERSATION_KINDS | {NOTIFICATION_CREATED, MESSAGE_DELIVERY_CHANGED}


def account_channel(account_id: int) -> str:
    return f"account:{account_id}"


class _WireEvent(TypedDict):
    """A BusEvent as JSON on the bus."""

    seq: int | None
    kind: str
    account_id: int
    conversation_id: int | None
    user_id: int | None
    payload: dict[str, Any]


@dataclass(frozen=True)
class BusEvent:
    kind: str
    account_id: int
    payload: dict[str, Any] = field(default_factory=dict)
    seq: int | None = None
    conversation_id: int | None = None
    user_id: int | None = None

    def to_json(self) -> str:
        wire: _WireEvent = {
            "seq": self.seq,
            "kind": self.kind,
            "account_id": self.account_id,
            "conversation_id": self.conversation_id,
            "user_id": self.user_id,
            "payload": self.payload,
        }
        return orjson.dumps(wire).decode()

    @classmethod
    def from_json(cls, raw: str | bytes) -> BusEvent:
        data: _WireEvent = orjson.loads(raw)
        return cls(
            seq=data["seq"],
            kind=data["kind"],
            account_id=data["account_id"],
            conversation_id=data["conversation_id"],
            user_id=data["user_id"],
            payload=data["payload"],
        )

    def channels(self) -> list[str]:
        """Every event of an account rings on the account's channel: each process has one
        feed per account (subscriptions/feed.py) that routes events to local subscribers
        by conversation, member and scope, so per-conversation or per-member channels
        would only multiply the bus traffic."""
        return [account_channel(self.account_id)]
