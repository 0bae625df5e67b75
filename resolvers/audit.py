"""The audit log: one row per change to who may do what (a member's creation, role or
state, the account's plan, its webhook secret) or login from a new address, written
with the caller's connection, so in the change's own transaction; and the admins' read
of it, newest first."""
from __future__ import annotations

from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from models import AuditAction, AuditEntry
from resolvers.viewer import Viewer


async def record(
    connection: BaseDBAsyncClient,
    *,
    account_id: int,
    action: AuditAction,
    actor_id: int | None,
    target_user_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    address: str | None = None,
) -> None:
    """Write one entry on `connection` (the change's transaction: it commits or rolls back
    with the change). `actor_id` None: the command line. `before`/`after` hold the
    changed values only, never a secret."""
    await AuditEntry.create(
        account_id=account_id, action=action, actor_id=actor_id, target_user_id=target_user_id,
        before=before, after=after, address=address, using_db=connection,
    )


async def audit_log(viewer: Viewer, *, first: int, before_id: int | None) -> list[AuditEntry]:
    """The account's entries, newest first, keyset-paged by id (older than `before_id`);
    up to first + 1 rows (the extra one says a next page exists). Admins only."""
    viewer.require_admin()
    query = AuditEntry.filter(account_id=viewer.account_id)
    if before_id is not None:
        query = query.filter(id__lt=before_id)
    return await query.order_by("-id").limit(first + 1)


async def count_audit_entries(viewer: Viewer) -> int:
    viewer.require_admin()
    return await AuditEntry.filter(account_id=viewer.account_id).count()
