"""The root Subscription: live inbox views, conversation threads and notifications.

Each field checks access up front (errors arrive before any event), then streams the
account feed's events that the rules in resolvers/event_routing.py accept, resuming from
`after` when given. Access is followed while the stream runs (`_while_access_lasts`):
when the viewer's login ends (logout, deactivation, the session's expiry) a socket is
closed with 4403; when their role or their account's plan changes, the field's checks
run again with the member as they are now, and a subscription they may no longer have
ends with that error."""
from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass
from functools import partial
from typing import Generic, TypeVar

import strawberry

from resolvers import event_routing
from resolvers.auth import current_viewer
from resolvers.inbox import account_counts, counts_for
from resolvers.viewer import Viewer, require_viewer
from schema.context import Info
from schema.errors import run_query
from schema.event_cache import SharedEvent, shared
from schema.events import (
    ConversationEvent,
    InboxCountsChanged,
    InboxEvent,
    ResyncRequired,
    parse_event_cursor,
    render,
)
from schema.inbox import InboxFilter, counts_type, domain_filter
from schema.loaders import existing
from schema.notifications import Notification
from subscriptions.events import ACCESS_CHANGED, BusEvent
from subscriptions.feed import FeedRegistry
from subscriptions.protocol import FORBIDDEN_CLOSE_CODE
from subscriptions.runtime import current
from subscriptions.stream import DeadlinePassed, ReplayFinished, ResyncNeeded, event_stream

StreamItem = BusEvent | ResyncNeeded | ReplayFinished | DeadlinePassed
Grant = TypeVar("Grant")


def _feeds() -> FeedRegistry:
    realtime = current()
    if realtime is None:
        raise RuntimeError("the realtime runtime is not running")
    return realtime.feeds


@dataclass
class _Access(Generic[Grant]):
    """Who runs a subscription and what its checks granted (the inbox scope, the watched
    conversation), kept current while it runs: the routing rules read it for every event."""

    info: Info
    viewer: Viewer
    grant: Grant
    check: Callable[[Viewer], Awaitable[Grant]]

    @classmethod
    async def granted(cls, info: Info, check: Callable[[Viewer], Awaitable[Grant]]) -> _Access[Grant]:
        async def prepare() -> _Access[Grant]:
            viewer = require_viewer(info.context.viewer)
            return cls(info=info, viewer=viewer, grant=await check(viewer), check=check)

        return await run_query(prepare)

    async def still_granted(self) -> bool:
        """Re-run the checks with the member as they are now: False once the login has
        ended; a QueryError (the field's own, say FEATURE_NOT_IN_PLAN) once the member may no
        longer have this subscription."""
        now = await current_viewer(self.viewer)
        if now is None:
            return False
        self.grant = await run_query(partial(self.check, now))
        # The socket's later operations and this stream's fields resolve as the member is now.
        self.viewer = self.info.context.viewer = now
        return True


async def _while_access_lasts(
    access: _Access[Grant], stream: AsyncGenerator[StreamItem, None]
) -> AsyncGenerator[StreamItem, None]:
    """Pass the stream on while the viewer's access lasts. It ends (a socket closes with
    4403) on an ACCESS_REVOKED event, at the session's expiry, or, checked once the replay
    is done (access events are live-only), when the login ended before the stream
    registered on the feed. An ACCESS_CHANGED event (or the end of the replay) re-runs the
    checks, which raise when the subscription is no longer allowed.

    It closes `stream`, and its callers close it (`aclosing`): when the client leaves, the
    generators close in order in the subscription's own task, releasing the feed there,
    instead of being left to the garbage collector, whose finalizer could close one while
    another close still ran ("aclose(): asynchronous generator is already running")."""
    async with aclosing(stream):
        async for item in stream:
            if isinstance(item, ReplayFinished) or (isinstance(item, BusEvent) and item.kind == ACCESS_CHANGED):
                ended = not await access.still_granted()
            else:
                ended = isinstance(item, DeadlinePassed) or (
                    isinstance(item, BusEvent) and event_routing.ends_access(access.viewer, item)
                )
            if ended:
                # A WebSocket is closed with 4403 (every stream on it ends); an HTTP stream
                # just ends, and subscribing again is refused for want of a login.
                request = access.info.context.request
                if request.scope["type"] == "websocket":
                    reason = "Session expired" if isinstance(item, DeadlinePassed) else "Access revoked"
                    await request.close(code=FORBIDDEN_CLOSE_CODE, reason=reason)
                return
            if isinstance(item, BusEvent) and event_routing.concerns_access(access.viewer, item):
                continue  # an access event is for this function only
            yield item


@strawberry.type(description="Live updates over graphql-transport-ws.")
class Subscription:
    @strawberry.subscription(
        description="The live side of `inbox(filter)`: messages, assignment and status changes and typing for the "
        "conversations in scope (also when one enters or leaves it), and the tab counts after each change that "
        "moves them. With `after` (a cursor from an earlier event) it first replays what was missed."
    )
    async def inbox_events(
        self, info: Info, filter: InboxFilter | None = None, after: str | None = None
    ) -> AsyncGenerator[InboxEvent, None]:
        async def scope_of(viewer: Viewer) -> event_routing.InboxScope:
            return await event_routing.inbox_scope(viewer, domain_filter(filter))

        access = await _Access.granted(info, scope_of)
        after_seq = await run_query(partial(_after_seq, after))

        def moves_counts(event: BusEvent) -> bool:
            return access.grant.with_counts and event_routing.changes_counts(event)

        def accepts(event: BusEvent) -> bool:
            return event_routing.inbox_accepts(access.viewer, access.grant, event)

        stream = event_stream(
            _feeds(), access.viewer.account_id, lambda event: accepts(event) or moves_counts(event),
            after_seq=after_seq, ends_at=access.viewer.session_expires_at,
        )
        # While replaying, counts are sent once at the end (not after every missed event).
        replaying, counts_stale = after_seq is not None, False
        async with aclosing(_while_access_lasts(access, stream)) as items:
            async for item in items:
                if isinstance(item, ResyncNeeded):
                    yield ResyncRequired(reason=item.reason)
                elif isinstance(item, ReplayFinished):
                    replaying = False
                    if counts_stale:
                        yield await _counts_changed(access.viewer, access.grant, None)
                elif isinstance(item, BusEvent):
                    event = shared(item)
                    if accepts(item) and await _matches_search(access.grant, event):
                        rendered = await render(event)
                        if rendered is not None:
                            yield rendered
                    if moves_counts(item):
                        if replaying:
                            counts_stale = True
                        else:
                            yield await _counts_changed(access.viewer, access.grant, event)

    @strawberry.subscription(
        description="Everything in one conversation: messages, assignment and status changes, typing. With `after` "
        "it first replays what was missed."
    )
    async def conversation_events(
        self, info: Info, conversation_id: strawberry.ID, after: str | None = None
    ) -> AsyncGenerator[ConversationEvent, None]:
        async def watched(viewer: Viewer) -> int:
            return await event_routing.watchable_conversation(viewer, conversation_id)

        access = await _Access.granted(info, watched)
        stream = event_stream(
            _feeds(), access.viewer.account_id,
            lambda event: event_routing.conversation_accepts(access.viewer, access.grant, event),
            after_seq=await run_query(partial(_after_seq, after)), conversation_id=access.grant,
            ends_at=access.viewer.session_expires_at,
        )
        async with aclosing(_while_access_lasts(access, stream)) as items:
            async for item in items:
                if isinstance(item, ResyncNeeded):
                    yield ResyncRequired(reason=item.reason)
                elif isinstance(item, BusEvent):
                    rendered = await render(shared(item))
                    if rendered is not None:
                        yield rendered

    @strawberry.subscription(
        description="The viewer's new notifications, the same rows `notifications` returns; every open connection "
        "of the member gets each once. With `after` (the cursor of the last one seen: `Notification.cursor`) it "
        "first replays what was missed. A stream that cannot continue seamlessly ends; subscribe again."
    )
    async def notification_added(self, info: Info, after: str | None = None) -> AsyncGenerator[Notification, None]:
        async def allowed(viewer: Viewer) -> None:
            event_routing.require_notifications(viewer)

        access = await _Access.granted(info, allowed)
        stream = event_stream(
            _feeds(), access.viewer.account_id, lambda event: event_routing.notification_accepts(access.viewer, event),
            after_seq=await run_query(partial(_after_seq, after)), user_id=access.viewer.user_id,
            ends_at=access.viewer.session_expires_at,
        )
        async with aclosing(_while_access_lasts(access, stream)) as items:
            async for item in items:
                if isinstance(item, ResyncNeeded):
                    return  # `Notification` has no way to say "resync": ending asks the client to resubscribe
                if isinstance(item, BusEvent):
                    event = shared(item)
                    notification = await event.once("notification", partial(_notification, event))
                    if notification is not None:
                        yield notification


async def _after_seq(after: str | None) -> int | None:
    return parse_event_cursor(after)


async def _notification(event: SharedEvent) -> Notification | None:
    """One object per event for every connection of its member (see `render`)."""
    notification = await event.loaders.notification.load(event.event.payload["notification_id"])
    if notification is None:
        return None
    return Notification.from_model(notification, event.loaders, seq=event.event.seq)


async def _counts_changed(
    viewer: Viewer, scope: event_routing.InboxScope, event: SharedEvent | None
) -> InboxCountsChanged:
    """Counts after a live event are computed once per event for all its subscribers.
    The tabs differ by viewer (`mine`), and so does their id (a client's cache keeps one
    entry per viewer and status, schema/identities.py), so only one member's subscribers
    share the object: the same object is what lets them share its execution."""
    if event is None:
        tabs = counts_for(viewer, await account_counts(viewer.account_id, scope.status))
        return InboxCountsChanged(counts=counts_type(tabs, viewer))
    tabs = counts_for(viewer, await event.account_counts(scope.status))
    return event.for_value(
        ("counts_changed", scope.status, viewer.user_id), tabs,
        lambda: InboxCountsChanged(counts=counts_type(tabs, viewer)),
    )


async def _matches_search(scope: event_routing.InboxScope, event: SharedEvent) -> bool:
    if scope.search is None:
        return True
    conversation_id = event.event.conversation_id
    conversation = None if conversation_id is None else await event.loaders.conversation.load(conversation_id)
    if conversation is None:
        return False
    contact = await existing(event.loaders.contact, conversation.contact_id)
    return event_routing.search_matches(scope, contact.phone, contact.name)


