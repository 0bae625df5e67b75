"""Logins: bearer tokens for members, checked on every request and WebSocket."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from models import Account, AuditAction, KnownAddress, Session, User
from resolvers import audit, login_throttle
from resolvers.errors import DomainError, ErrorCode, is_storable
from resolvers.outbox import utcnow
from resolvers.passwords import verify_password
from resolvers.sql import model_from_row, prefixed_columns
from resolvers.viewer import Viewer
from subscriptions.events import ACCESS_CHANGED, ACCESS_REVOKED, BusEvent
from subscriptions.runtime import publish_events

DEFAULT_SESSION_TTL = timedelta(days=30)
DEFAULT_IDLE_TIMEOUT = timedelta(days=7)
# A session's last use is written at most this often: a token used by every request of
# a busy client costs one write a minute, not one per request.
LAST_USE_PRECISION = timedelta(minutes=1)

_idle_timeout: timedelta | None = DEFAULT_IDLE_TIMEOUT


def configure_sessions(*, idle_timeout: timedelta | None) -> None:
    """A session unused for `idle_timeout` ends (None: only the absolute expiry applies)."""
    global _idle_timeout
    _idle_timeout = idle_timeout


def session_usable(
    *, revoked_at: datetime | None, expires_at: datetime, last_used_at: datetime, active: bool, now: datetime
) -> bool:
    """The one rule for a login: not revoked, not past its expiry, not idle for longer than
    the idle timeout, and its member still active."""
    if revoked_at is not None or expires_at <= now or not active:
        return False
    return _idle_timeout is None or last_used_at + _idle_timeout > now


async def note_use(session_id: int, last_used_at: datetime, now: datetime) -> None:
    """Slide the idle timeout forward (at most once per LAST_USE_PRECISION)."""
    if now - last_used_at >= LAST_USE_PRECISION:
        await Session.filter(id=session_id).update(last_seen_at=now)


async def note_connection_closed(viewer: Viewer) -> None:
    """A socket is in use for as long as it is open, listening or not: its idle time
    starts when it closes."""
    if viewer.session_id is not None:
        await Session.filter(id=viewer.session_id, revoked_at=None).update(last_seen_at=utcnow())


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


MAX_EMAIL_LENGTH = 254  # RFC 5321's limit, and the column's


def normalise_email(email: str) -> str:
    return email.strip().lower()


async def login(
    email: str, password: str, *, ttl: timedelta = DEFAULT_SESSION_TTL, address: str | None = None
) -> tuple[str, User]:
    """A new session for the member with this email and password. `address` is the
    client's (server/client_address.py): failures are throttled per email and per address
    (resolvers/login_throttle.py), and a login from an address the member never used is
    written to the audit log."""
    # Text no member's email or password can be (a NUL, a lone surrogate) is just wrong
    # credentials, hashed like any other try: a login says nothing more.
    readable = is_storable(email) and is_storable(password)
    normalised = normalise_email(email) if readable else ""
    # No member's email is longer (Tortoise refuses to even look one up).
    findable = readable and len(normalised) <= MAX_EMAIL_LENGTH
    user = await User.get_or_none(email=normalised).select_related("account") if findable else None
    known = user is not None and address is not None and (
        await KnownAddress.exists(user_id=user.id, address=address)
    )
    attempt = await login_throttle.begin_attempt(normalised, address, known_address=known)
    try:
        ok = await verify_password(
            user.password_hash if user else None, password if readable else "", familiar=known
        )
    except DomainError:  # refused before hashing (too many at once): not a failure
        await attempt.abandoned()
        raise
    if user is None or not ok or not user.active:
        raise DomainError(ErrorCode.INVALID_CREDENTIALS, "Wrong email or password", "password")
    await attempt.succeeded()
    token = secrets.token_urlsafe(32)
    now = utcnow()
    async with in_transaction() as connection:
        await Session.create(
            user=user, token_hash=token_hash(token), expires_at=now + ttl, last_seen_at=now, using_db=connection
        )
        if address is not None:
            await _note_address(user, address, known, now, connection)
    return token, user


async def _note_address(user: User, address: str, known: bool, now: datetime, connection: BaseDBAsyncClient) -> None:
    if known:
        await KnownAddress.filter(user_id=user.id, address=address).using_db(connection).update(last_seen_at=now)
        return
    _, created = await KnownAddress.get_or_create(
        user_id=user.id, address=address, defaults={"last_seen_at": now}, using_db=connection
    )
    if created:  # a simultaneous first login from the same address is written once
        await audit.record(
            connection, account_id=user.account_id, action=AuditAction.LOGIN_FROM_NEW_ADDRESS, actor_id=user.id,
            target_user_id=user.id, address=address,
        )


async def authenticate(token: str | None) -> Viewer | None:
    """The viewer behind a bearer token, or None for a missing, unknown, expired or
    revoked token or a deactivated member (so deactivation takes effect at once)."""
    if not token:
        return None
    row = await _session_with_member(token_hash(token))
    if row is None:
        return None
    user = model_from_row(User, row, "u__")
    now, expires_at = utcnow(), _as_datetime(row["s__expires_at"])
    last_used_at = _as_datetime(row["s__last_seen_at"] or row["s__created_at"])
    if not session_usable(
        revoked_at=row["s__revoked_at"], expires_at=expires_at, last_used_at=last_used_at, active=user.active, now=now
    ):
        return None
    await note_use(row["s__id"], last_used_at, now)
    return Viewer(
        user=user, account=model_from_row(Account, row, "a__"), session_id=row["s__id"], session_expires_at=expires_at
    )


# Every request and WebSocket authenticates: one hand-written join instead of the ORM's
# select_related, which cost about a millisecond of Python per request to build and unpack.
@cache  # built on first use: the models' column lists are complete only once Tortoise is set up
def _session_with_member_sql(postgres: bool) -> str:
    return (
        "SELECT s.id AS s__id, s.revoked_at AS s__revoked_at, s.expires_at AS s__expires_at, "
        "s.created_at AS s__created_at, s.last_seen_at AS s__last_seen_at, "
        f'{prefixed_columns(User, "u", "u__")}, {prefixed_columns(Account, "a", "a__")} '
        'FROM session s JOIN "user" u ON u.id = s.user_id JOIN account a ON a.id = u.account_id '
        f"WHERE s.token_hash = {'$1' if postgres else '?'}"
    )


_as_datetime = Session._meta.fields_map["expires_at"].to_python_value


async def _session_with_member(hashed: str) -> dict[str, Any] | None:
    connection = connections.get("default")
    sql = _session_with_member_sql(connection.capabilities.dialect == "postgres")
    rows = await connection.execute_query_dict(sql, [hashed])
    return rows[0] if rows else None




async def current_viewer(viewer: Viewer) -> Viewer | None:
    """A long-lived connection's login as it is now: the member's current role and their
    account's current plan, or None once the session is revoked or expired or the member
    deactivated. A socket runs each new operation with this, never with the role and plan
    it had when it connected."""
    if viewer.session_id is None:
        return None
    session = await Session.get_or_none(id=viewer.session_id).select_related("user__account")
    if session is None:
        return None
    now, last_used_at = utcnow(), session.last_seen_at or session.created_at
    if not session_usable(
        revoked_at=session.revoked_at, expires_at=session.expires_at, last_used_at=last_used_at,
        active=session.user.active, now=now,
    ):
        return None
    await note_use(session.id, last_used_at, now)
    return Viewer(
        user=session.user, account=session.user.account, session_id=session.id, session_expires_at=session.expires_at
    )


async def logout(viewer: Viewer, *, all_sessions: bool = False) -> None:
    """Revoke this session, or every session of the member; their subscriptions end."""
    if all_sessions:
        await Session.filter(user_id=viewer.user_id, revoked_at=None).update(revoked_at=utcnow())
        await announce_access_revoked(viewer.account_id, viewer.user_id)
    elif viewer.session_id is not None:
        await Session.filter(id=viewer.session_id, revoked_at=None).update(revoked_at=utcnow())
        await announce_access_revoked(viewer.account_id, viewer.user_id, viewer.session_id)


async def announce_access_revoked(account_id: int, user_id: int, session_id: int | None = None) -> None:
    """End the member's open subscriptions: of one session (logout) or all (deactivation)."""
    await publish_events([BusEvent(
        kind=ACCESS_REVOKED, account_id=account_id, payload={"user_id": user_id, "session_id": session_id},
    )])


async def announce_access_changed(account_id: int, user_id: int | None = None) -> None:
    """A member's role (or, with no member, the account's plan) changed: every open
    subscription of theirs, on every instance, checks it may still run."""
    await publish_events([BusEvent(kind=ACCESS_CHANGED, account_id=account_id, payload={"user_id": user_id})])


def bearer_token(header_value: str | None) -> str | None:
    if not header_value:
        return None
    scheme, _, token = header_value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
