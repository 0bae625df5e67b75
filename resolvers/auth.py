"""Logins: bearer tokens for members, checked on every request and WebSocket."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from models import Session, User
from resolvers.errors import DomainError, ErrorCode
from resolvers.outbox import utcnow
from resolvers.passwords import verify_password
from resolvers.viewer import Viewer
from subscriptions.events import ACCESS_REVOKED, BusEvent
from subscriptions.runtime import publish_events

DEFAULT_SESSION_TTL = timedelta(days=30)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


async def login(email: str, password: str, *, ttl: timedelta = DEFAULT_SESSION_TTL) -> tuple[str, User]:
    email = normalise_email(email)
    user = None if "\x00" in email else await User.get_or_none(email=email).select_related("account")
    ok = await verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.active:
        raise DomainError(ErrorCode.INVALID_CREDENTIALS, "Wrong email or password", "password")
    token = secrets.token_urlsafe(32)
    await Session.create(user=user, token_hash=token_hash(token), expires_at=utcnow() + ttl)
    return token, user


async def authenticate(token: str | None) -> Viewer | None:
    """The viewer behind a bearer token, or None for a missing, unknown, expired or
    revoked token or a deactivated member (so deactivation takes effect at once)."""
    if not token:
        return None
    session = await Session.get_or_none(token_hash=token_hash(token)).select_related("user__account")
    if session is None or session.revoked_at is not None or session.expires_at <= utcnow():
        return None
    if not session.user.active:
        return None
    return Viewer(user=session.user, account=session.user.account, session_id=session.id)


async def still_valid(viewer: Viewer) -> bool:
    """Re-check a long-lived connection's login (revoked token, deactivated member)."""
    if viewer.session_id is None:
        return False
    session = await Session.get_or_none(id=viewer.session_id).select_related("user")
    return bool(
        session and session.revoked_at is None and session.expires_at > utcnow() and session.user.active
    )


async def logout(viewer: Viewer) -> None:
    if viewer.session_id is not None:
        await Session.filter(id=viewer.session_id, revoked_at=None).update(revoked_at=utcnow())
        await announce_access_revoked(viewer.account_id, viewer.user_id, viewer.session_id)


async def announce_access_revoked(account_id: int, user_id: int, session_id: int | None = None) -> None:
    """End the member's open subscriptions: of one session (logout) or all (deactivation)."""
    await publish_events([BusEvent(
        kind=ACCESS_REVOKED, account_id=account_id, payload={"user_id": user_id, "session_id": session_id},
    )])


def bearer_token(header_value: str | None) -> str | None:
    if not header_value:
        return None
    scheme, _, token = header_value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
