"""Typing signals on top of the presence store: announce changes on the bus as
live-only events (never stored, never replayed).

A typing event carries the conversation's assignee and status, so inbox views can
route it by scope without a query. Expiry and clean-up happen without a request at
hand, so they read those two facts once per event.

Presence lives in Redis in production. While it is unreachable, an explicit setTyping
fails, but the side effects of other changes (a sent message ending its author's typing,
a member's last connection closing) only log: the change itself is committed, and the
entries expire on their own. The typing snapshot reads as empty meanwhile."""
from __future__ import annotations

import logging
from collections.abc import Mapping

from models import Conversation
from subscriptions.events import TYPING_CHANGED, BusEvent
from subscriptions.runtime import current, publish_events
from subscriptions.typing_presence import TypingChange

log = logging.getLogger(__name__)


class PresenceUnavailable(Exception):
    """The typing presence store (Redis) cannot be reached."""


def typing_event(change: TypingChange, facts: Mapping[str, object]) -> BusEvent:
    return BusEvent(
        kind=TYPING_CHANGED, account_id=change.account_id, conversation_id=change.conversation_id,
        payload={**facts, "conversation_id": change.conversation_id, "user_id": change.user_id,
                 "is_typing": change.is_typing},
    )


async def _facts(conversation_id: int) -> dict[str, object]:
    conversation = await Conversation.get_or_none(id=conversation_id)
    if conversation is None:
        return {}
    return {"assignee_id": conversation.assignee_id, "status": conversation.status.value}


async def signal_typing(
    account_id: int, conversation_id: int, user_id: int, is_typing: bool, facts: Mapping[str, object] | None = None
) -> None:
    realtime = current()
    if realtime is None:
        return
    try:
        change = await realtime.presence.set_typing(account_id, conversation_id, user_id, is_typing)
    except Exception as error:
        raise PresenceUnavailable(str(error)) from error
    if change is not None:
        await publish_events([typing_event(change, facts if facts is not None else await _facts(conversation_id))])


async def stop_typing_after_send(
    account_id: int, conversation_id: int, user_id: int, facts: Mapping[str, object]
) -> None:
    """Sending a message ends the sender's typing in that conversation."""
    try:
        await signal_typing(account_id, conversation_id, user_id, False, facts)
    except Exception as error:
        log.warning("could not end typing of member %s after sending (%r)", user_id, error)


async def typing_user_ids(conversation_id: int) -> list[int]:
    realtime = current()
    if realtime is None:
        return []
    try:
        return await realtime.presence.typing_users(conversation_id)
    except Exception as error:
        log.warning("typing snapshot unavailable (%r)", error)
        return []


async def announce_expiry(change: TypingChange) -> None:
    """The presence store's `on_expired` callback: tell watchers the typist stopped."""
    await publish_events([typing_event(change, await _facts(change.conversation_id))])


async def clear_member(account_id: int, user_id: int) -> None:
    """The member's last connection closed (or they were deactivated): stop all their typing."""
    realtime = current()
    if realtime is None:
        return
    try:
        changes = await realtime.presence.clear_user(account_id, user_id)
    except Exception as error:
        log.warning("could not clear typing of member %s (%r)", user_id, error)
        return
    for change in changes:
        await publish_events([typing_event(change, await _facts(change.conversation_id))])
