"""The process's realtime parts (bus and typing presence), set up by the server's
lifespan. Resolvers reach them only through `publish_events`, after commit."""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from subscriptions.events import BusEvent

if TYPE_CHECKING:
    from subscriptions.bus import EventBus
    from subscriptions.feed import FeedRegistry
    from subscriptions.typing_presence import TypingPresence

log = logging.getLogger(__name__)


@dataclass
class Realtime:
    bus: EventBus
    presence: TypingPresence
    feeds: FeedRegistry


_current: Realtime | None = None


def install(realtime: Realtime | None) -> None:
    global _current
    _current = realtime


def current() -> Realtime | None:
    return _current


async def publish_events(events: Iterable[BusEvent]) -> None:
    """Ring the doorbell for committed events. Without a running server (CLI, seeding)
    there is nobody to ring for; the events are in the durable log either way. A bus
    failure is logged, not raised: the change is committed, and subscribers replay
    what they missed from the log once the bus is back."""
    realtime = _current
    if realtime is None:
        return
    for event in events:
        for channel in event.channels():
            try:
                await realtime.bus.publish(channel, event.to_json())
            except Exception as error:
                # One line, no traceback: during a Redis outage this fires for every change.
                log.warning("could not publish %s seq=%s on %s: %r", event.kind, event.seq, channel, error)
