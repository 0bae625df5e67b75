"""Members' notifications: created with the change that causes them, read and marked read."""
from __future__ import annotations

from tortoise.queryset import QuerySet

from models import Conversation, Message, Notification, NotificationKind, User
from resolvers.errors import not_found, validation
from resolvers.ids import parse_id
from resolvers.outbox import Outbox, utcnow
from resolvers.viewer import Viewer
from subscriptions.events import NOTIFICATION_CREATED

MAX_IDS_PER_CALL = 500


async def notify(
    outbox: Outbox,
    recipient_id: int,
    kind: NotificationKind,
    conversation: Conversation,
    *,
    message: Message | None = None,
    actor: User | None = None,
) -> Notification:
    """Store a notification and its event in the caller's transaction."""
    notification = await Notification.create(
        user_id=recipient_id, kind=kind, conversation_id=conversation.id,
        message_id=message.id if message else None, actor_id=actor.id if actor else None,
        created_at=utcnow(), using_db=outbox.connection,
    )
    outbox.record(
        NOTIFICATION_CREATED,
        {"notification_id": notification.id, "kind": kind.value, "conversation_id": conversation.id},
        user_id=recipient_id,
    )
    return notification


def _viewer_notifications(viewer: Viewer) -> QuerySet[Notification]:
    return Notification.filter(user_id=viewer.user_id)


async def list_notifications(
    viewer: Viewer, *, unread_only: bool, first: int, before_id: int | None
) -> list[Notification]:
    """Newest first, keyset-paged by id; returns up to first + 1 rows (the extra one says
    whether there is a next page)."""
    viewer.require_capability()
    query = _viewer_notifications(viewer)
    if unread_only:
        query = query.filter(read_at=None)
    if before_id is not None:
        query = query.filter(id__lt=before_id)
    return await query.order_by("-id").limit(first + 1)


async def count_notifications(viewer: Viewer, *, unread_only: bool) -> int:
    query = _viewer_notifications(viewer)
    if unread_only:
        query = query.filter(read_at=None)
    return await query.count()


async def mark_read(viewer: Viewer, *, ids: list[str] | None, all_: bool) -> int:
    """Mark the viewer's own notifications read. An id that is not one of the viewer's
    notifications (another member's, another account's, malformed) is simply not found,
    and nothing is marked. Returns how many changed (already read ones do not count)."""
    viewer.require_writer()
    viewer.require_capability()
    if all_ == (ids is not None):
        raise validation("Give either ids or all: true", "ids")
    query = _viewer_notifications(viewer)
    if ids is not None:
        if len(ids) > MAX_IDS_PER_CALL:
            raise validation(f"At most {MAX_IDS_PER_CALL} ids per call", "ids")
        wanted = {parse_id(raw, "Notification", "ids") for raw in ids}
        if len(await query.filter(id__in=list(wanted)).values_list("id", flat=True)) != len(wanted):
            raise not_found("Notification", "ids")
        query = query.filter(id__in=list(wanted))
    return await query.filter(read_at=None).update(read_at=utcnow())
