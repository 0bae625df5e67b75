"""Typing signals on top of the presence store: announce changes on the bus as
live-only events (never stored, never replayed)."""
from __future__ import annotations

from subscriptions.events import TYPING_CHANGED, BusEvent
from subscriptions.runtime import current, publish_events


def typing_event(account_id: int, conversation_id: int, user_id: int, is_typing: bool) -> BusEvent:
    return BusEvent(
        kind=TYPING_CHANGED, account_id=account_id, conversation_id=conversation_id,
        payload={"conversation_id": conversation_id, "user_id": user_id, "is_typing": is_typing},
    )


async def signal_typing(account_id: int, conversation_id: int, user_id: int, is_typing: bool) -> None:
    realtime = current()
    if realtime is None:
        return
    change = await realtime.presence.set_typing(account_id, conversation_id, user_id, is_typing)
    if change is not None:
        await publish_events([typing_event(account_id, conversation_id, user_id, change.is_typing)])


async def stop_typing_after_send(account_id: int, conversation_id: int, user_id: int) -> None:
    """Sending a message ends the sender's typing in that conversation."""
    await signal_typing(account_id, conversation_id, user_id, False)


async def typing_user_ids(conversation_id: int) -> list[int]:
    realtime = current()
    return [] if realtime is None else await realtime.presence.typing_users(conversation_id)


async def announce_expiry(change) -> None:
    """The presence store's `on_expired` callback: tell watchers the typist stopped."""
    await publish_events([typing_event(change.account_id, change.conversation_id, change.user_id, False)])


async def clear_member(account_id: int, user_id: int) -> None:
    """The member's last connection closed (or they were deactivated): stop all their typing."""
    realtime = current()
    if realtime is None:
        return
    changes = await realtime.presence.clear_user(account_id, user_id)
    await publish_events([typing_event(c.account_id, c.conversation_id, c.user_id, False) for c in changes])
