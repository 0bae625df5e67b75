"""The root Subscription: live inbox views, conversation threads and notifications.

Each field checks access up front (errors arrive before any event), then streams the
account feed's events that the rules in resolvers/event_routing.py accept, resuming from
`after` when given. When the viewer's access ends (logout, deactivation) the socket is
closed with 4403."""
from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from functools import partial

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
from subscriptions.events import ACCESS_REVOKED, BusEvent
from subscriptions.feed import FeedRegistry
from subscriptions.protocol import FORBIDDEN_CLOSE_CODE
from subscriptions.runtime import current
from subscriptions.stream import ReplayFinished, ResyncNeeded, event_stream

StreamItem = BusEvent | ResyncNeeded | ReplayFinished


def _feeds() -> FeedRegistry:
    realtime = current()
    if realtime is None:
        raise RuntimeError("the realtime runtime is not running")
    return realtime.feeds


def _viewer(info: Info) -> Viewer:
    return require_viewer(info.context.viewer)


async def _while_access_lasts(
    info: Info, viewer: Viewer, stream: AsyncGenerator[StreamItem, None]
) -> AsyncGenerator[StreamItem, None]:
    """Pass the stream on until the viewer's access ends, then end it (a socket closes with 4403):
    on an ACCESS_REVOKED event, or, checked once the replay is done (that event is
    live-only), when the login was revoked before the stream registered on the feed.

    It closes `stream`, and its callers close it (`aclosing`): when the client leaves, the
    generators close in order in the subscription's own task, releasing the feed there,
    instead of being left to the garbage collector, whose finalizer could close one while
    another close still ran ("aclose(): asynchronous generator is already running")."""
    async with aclosing(stream):
        async for item in stream:
            revoked = (
                await current_viewer(viewer) is None if isinstance(item, ReplayFinished)
                else isinstance(item, BusEvent) and item.kind == ACCESS_REVOKED
            )
            if revoked:
                # A WebSocket is closed with 4403 (every stream on it ends); a multipart HTTP
                # stream just ends, and subscribing again is refused for want of a login.
                if info.context.request.scope["type"] == "websocket":
                    await info.context.request.close(code=FORBIDDEN_CLOSE_CODE, reason="Access revoked")
                return
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
        async def prepare() -> tuple[Viewer, event_routing.InboxScope, int | None]:
            viewer = _viewer(info)
            return viewer, await event_routing.inbox_scope(viewer, domain_filter(filter)), parse_event_cursor(after)

        viewer, scope, after_seq = await run_query(prepare)

        def moves_counts(event: BusEvent) -> bool:
            return scope.with_counts and event_routing.changes_counts(event)

        stream = event_stream(
            _feeds(), viewer.account_id,
            lambda event: event_routing.inbox_accepts(viewer, scope, event) or moves_counts(event),
            after_seq=after_seq,
        )
        # While replaying, counts are sent once at the end (not after every missed event).
        replaying, counts_stale = after_seq is not None, False
        async with aclosing(_while_access_lasts(info, viewer, stream)) as items:
            async for item in items:
                if isinstance(item, ResyncNeeded):
                    yield ResyncRequired(reason=item.reason)
                elif isinstance(item, ReplayFinished):
                    replaying = False
                    if counts_stale:
                        yield await _counts_changed(viewer, scope, None)
                else:
                    event = shared(item)
                    if event_routing.inbox_accepts(viewer, scope, item) and await _matches_search(scope, event):
                        rendered = await render(event)
                        if rendered is not None:
                            yield rendered
                    if moves_counts(item):
                        if replaying:
                            counts_stale = True
                        else:
                            yield await _counts_changed(viewer, scope, event)

    @strawberry.subscription(
        description="Everything in one conversation: messages, assignment and status changes, typing. With `after` "
        "it first replays what was missed."
    )
    async def conversation_events(
        self, info: Info, conversation_id: strawberry.ID, after: str | None = None
    ) -> AsyncGenerator[ConversationEvent, None]:
        async def prepare() -> tuple[Viewer, int, int | None]:
            viewer = _viewer(info)
            watched = await event_routing.watchable_conversation(viewer, conversation_id)
            return viewer, watched, parse_event_cursor(after)

        viewer, watched, after_seq = await run_query(prepare)
        stream = event_stream(
            _feeds(), viewer.account_id, lambda event: event_routing.conversation_accepts(viewer, watched, event),
            after_seq=after_seq, conversation_id=watched,
        )
        async with aclosing(_while_access_lasts(info, viewer, stream)) as items:
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
        async def prepare() -> tuple[Viewer, int | None]:
            viewer = _viewer(info)
            event_routing.require_notifications(viewer)
            return viewer, parse_event_cursor(after)

        viewer, after_seq = await run_query(prepare)
        stream = event_stream(
            _feeds(), viewer.account_id, lambda event: event_routing.notification_accepts(viewer, event),
            after_seq=after_seq, user_id=viewer.user_id,
        )
        async with aclosing(_while_access_lasts(info, viewer, stream)) as items:
            async for item in items:
                if isinstance(item, ResyncNeeded):
                    return  # `Notification` has no way to say "resync": ending asks the client to resubscribe
                if isinstance(item, BusEvent):
                    event = shared(item)
                    notification = await event.once("notification", partial(_notification, event))
                    if notification is not None:
                        yield notification


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


