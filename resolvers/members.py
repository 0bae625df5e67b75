"""Team members: listing, creating, changing roles, deactivating (admins only)."""
from __future__ import annotations

import re
from functools import lru_cache

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError

from models import Account, Role, Session, User
from resolvers.assignment import unassign_all_of
from resolvers.auth import announce_access_changed, announce_access_revoked, normalise_email
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


async def new_user(account: Account, *, email: str, name: str, role: Role, password: str) -> User:
    """Create a member (no permission check: callers decide who may)."""
    email = normalise_email(storable_text(email, "email"))
    if len(email) > 254 or not EMAIL_RE.match(email):
        raise validation("Enter a valid email address", "email")
    password_hash = await hash_password(password)
    try:
        return await User.create(
            account=account, email=email, name=_clean_name(name), role=role, password_hash=password_hash
        )
    except IntegrityError:
        raise DomainError(ErrorCode.ALREADY_EXISTS, "A member with this email already exists", "email") from None


async def create_user(viewer: Viewer, *, email: str, name: str, role: Role, password: str) -> User:
    viewer.require_admin()
    return await new_user(viewer.account, email=email, name=name, role=role, password=password)


async def update_user(
    viewer: Viewer, user_id: str, *, name: str | None = None, role: Role | None = None, active: bool | None = None
) -> User:
    """Rename, change role, deactivate or reactivate a member. Deactivating revokes their
    tokens and unassigns their conversations (with history), so the inbox counts still
    add up and nobody waits on a member who is gone."""
    viewer.require_admin()
    user = await get_member(viewer, user_id)
    if name is not None:
        user.name = _clean_name(name)
    demoting = role is not None and role != Role.ADMIN
    role_changing = role is not None and role != user.role
    deactivating = active is False and user.active
    async with write_transaction(viewer.account_id) as outbox:
        connection = outbox.connection
        if user.role == Role.ADMIN and (demoting or deactivating):
            await _keep_an_admin(viewer, user, connection)
        if role is not None:
            user.role = role
        if active is not None:
            user.active = active
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


async def _keep_an_admin(viewer: Viewer, leaving: User, connection: BaseDBAsyncClient) -> None:
    """Checked inside the change's transaction with the admins' rows locked (SQLite
    serialises transactions anyway), so two admins demoting themselves at once cannot
    both succeed and leave the account without one."""
    admins = await (
        User.filter(account_id=viewer.account_id, role=Role.ADMIN, active=True)
        .order_by("id").select_for_update(no_key=True).using_db(connection)
    )
    if not any(admin.id != leaving.id for admin in admins):
        raise DomainError(ErrorCode.FORBIDDEN, "An account needs at least one active admin", "userId")




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
