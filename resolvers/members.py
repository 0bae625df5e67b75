"""Team members: listing, creating, changing roles, deactivating (admins only)."""
from __future__ import annotations

import re
from functools import lru_cache

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models import Account, AuditAction, Role, Session, User
from resolvers import audit
from resolvers.assignment import unassign_all_of
from resolvers.auth import MAX_EMAIL_LENGTH, announce_access_changed, announce_access_revoked, normalise_email
from resolvers.errors import DomainError, ErrorCode, not_found, storable_text, validation
from resolvers.ids import parse_id
from resolvers.outbox import utcnow, write_transaction
from resolvers.passwords import hash_password
from resolvers.viewer import Viewer
from subscriptions.typing_service import clear_member

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_NAME_LENGTH = 200


def _clean_name(name: str) -> str:
    name = " ".join(storable_text(name, "name").split())
    if not name or len(name) > MAX_NAME_LENGTH:
        raise validation(f"Name must be 1 to {MAX_NAME_LENGTH} characters", "name")
    return name


async def team_members(viewer: Viewer, *, include_inactive: bool = False) -> list[User]:
    query = User.filter(account_id=viewer.account_id)
    if not include_inactive:
        query = query.filter(active=True)
    return await query.order_by("name", "id")


async def get_member(viewer: Viewer, user_id: str | int, field: str = "userId") -> User:
    user = await User.get_or_none(id=parse_id(user_id, "Member", field), account_id=viewer.account_id)
    if user is None:
        raise not_found("Member", field)
    return user


async def new_user(
    account: Account, *, email: str, name: str, role: Role, password: str, actor_id: int | None = None
) -> User:
    """Create a member and its MEMBER_CREATED audit entry in one transaction (no
    permission check: callers decide who may; `actor_id` None: the command line)."""
    email = normalise_email(storable_text(email, "email"))
    if len(email) > MAX_EMAIL_LENGTH or not EMAIL_RE.match(email):
        raise validation("Enter a valid email address", "email")
    password_hash = await hash_password(password)  # slow: before the transaction, not inside it
    name = _clean_name(name)
    try:
        # Inside a caller's transaction (create_account's) this is a savepoint of it.
        async with in_transaction() as connection:
            user = await User.create(
                account=account, email=email, name=name, role=role, password_hash=password_hash, using_db=connection
            )
            await audit.record(
                connection, account_id=account.id, action=AuditAction.MEMBER_CREATED, actor_id=actor_id,
                target_user_id=user.id, after={"email": email, "name": name, "role": Role(role).value},
            )
    except IntegrityError:
        raise DomainError(ErrorCode.ALREADY_EXISTS, "A member with this email already exists", "email") from None
    return user


async def create_user(viewer: Viewer, *, email: str, name: str, role: Role, password: str) -> User:
    viewer.require_admin()
    return await new_user(
        viewer.account, email=email, name=name, role=role, password=password, actor_id=viewer.user_id
    )


async def update_user(
    viewer: Viewer, user_id: str, *, name: str | None = None, role: Role | None = None, active: bool | None = None
) -> User:
    """Rename, change role, deactivate or reactivate a member. Deactivating revokes their
    tokens and unassigns their conversations (with history), so the inbox counts still
    add up and nobody waits on a member who is gone. A change of role or state is
    audited in the same transaction; a rename, or setting what already is, is not."""
    viewer.require_admin()
    member_id = (await get_member(viewer, user_id)).id
    new_name = None if name is None else _clean_name(name)
    async with write_transaction(viewer.account_id) as outbox:
        connection = outbox.connection
        # Compared, changed and audited as the member is now, not as read before the transaction.
        user, admins = await _lock_member_and_admins(viewer, member_id, connection)
        demoting = role is not None and role != Role.ADMIN
        role_changing = role is not None and role != user.role
        deactivating = active is False and user.active
        if user.role == Role.ADMIN and (demoting or deactivating):
            _keep_an_admin(user, admins)
        if role is not None and role != user.role:
            await _audit(viewer, user, connection, AuditAction.ROLE_CHANGED,
                         {"role": Role(user.role).value}, {"role": role.value})
            user.role = role
        if active is not None and active != user.active:
            action = AuditAction.MEMBER_REACTIVATED if active else AuditAction.MEMBER_DEACTIVATED
            await _audit(viewer, user, connection, action, {"active": user.active}, {"active": active})
            user.active = active
        if new_name is not None:
            user.name = new_name
        await user.save(using_db=connection)
        if deactivating:
            await Session.filter(user_id=user.id, revoked_at=None).using_db(connection).update(revoked_at=utcnow())
            await unassign_all_of(viewer, user, outbox, note="Unassigned: member deactivated")
    await outbox.publish()
    if deactivating:
        await announce_access_revoked(viewer.account_id, user.id)
        await clear_member(viewer.account_id, user.id)
    elif role_changing:
        await announce_access_changed(viewer.account_id, user.id)
    return user


async def _lock_member_and_admins(
    viewer: Viewer, member_id: int, connection: BaseDBAsyncClient
) -> tuple[User, list[User]]:
    """The member and the account's active admins as they are now, their rows locked by
    one statement in id order (members' rows before conversations: the lock order of
    resolvers/outbox.py). One statement, one order: two admins demoting each other at
    once wait for one another instead of deadlocking, and cannot both succeed and leave
    the account without an admin. SQLite serialises transactions anyway."""
    rows = await (
        User.filter(Q(id=member_id) | Q(role=Role.ADMIN, active=True), account_id=viewer.account_id)
        .order_by("id").select_for_update(no_key=True).using_db(connection)
    )
    [member] = [row for row in rows if row.id == member_id]
    return member, [row for row in rows if row.role == Role.ADMIN and row.active]


def _keep_an_admin(leaving: User, admins: list[User]) -> None:
    if not any(admin.id != leaving.id for admin in admins):
        raise DomainError(ErrorCode.FORBIDDEN, "An account needs at least one active admin", "userId")


async def _audit(
    viewer: Viewer, user: User, connection: BaseDBAsyncClient, action: AuditAction,
    before: dict[str, object], after: dict[str, object],
) -> None:
    await audit.record(
        connection, account_id=viewer.account_id, action=action, actor_id=viewer.user_id,
        target_user_id=user.id, before=before, after=after,
    )


@lru_cache(maxsize=4096)  # pure, and asked for every badge of every inbox row
def initials_of(name: str) -> str:
    """Badge letters: first and last word's initials ('Ada Lovelace' -> 'AL'), the first
    two letters of a single word ('Bob' -> 'BO'), stable for the same name."""
    # Words trimmed of punctuation and symbols at either end ("(Ops)" -> "Ops", "🚀" -> "").
    words = [word for word in (_EDGE_SYMBOLS.sub("", w) for w in name.split()) if word]
    if not words:
        return "?"
    if len(words) == 1:
        letters = [ch for ch in words[0] if ch.isalnum()]
        return "".join(_upper(ch) for ch in letters[:2])
    return _upper(words[0][0]) + _upper(words[-1][0])


_EDGE_SYMBOLS = re.compile(r"^[\W_]+|[\W_]+$")


def _upper(letter: str) -> str:
    """One letter stays one letter: 'ß'.upper() is 'SS', which would make three initials."""
    upper = letter.upper()
    return upper if len(upper) == 1 else letter
