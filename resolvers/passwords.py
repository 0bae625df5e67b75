"""Argon2 password hashing, and the rules a new password must meet.

Hashing is deliberately slow (tens of milliseconds of CPU), so it runs in a worker
thread: a login must not stall every live subscription on the event loop. The queue for
those threads is bounded: past MAX_WAITING_HASHES a request is refused at once
(TOO_MANY_ATTEMPTS, try again in a second) instead of waiting behind a flood."""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from resolvers.errors import DomainError, ErrorCode, validation

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256
# Hashes running or queued at once. The default thread pool runs a handful at a time
# (each a few tens of milliseconds): this many is well under a second of waiting.
MAX_WAITING_HASHES = 32

T = TypeVar("T")
_waiting = 0

_hasher = PasswordHasher()  # argon2-cffi's defaults (RFC 9106 low-memory profile)
# Verifying against this keeps a login for an unknown email as slow as a wrong password,
# so response times do not reveal which emails have accounts.
_dummy_hash = _hasher.hash("teaminbox-timing-equaliser")


def configure(*, time_cost: int, memory_kib: int, parallelism: int) -> None:
    """Set the cost of new hashes (existing hashes verify with the cost they carry).
    The test suite uses a cheap setting; production keeps the defaults."""
    global _hasher, _dummy_hash
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
    _dummy_hash = _hasher.hash("teaminbox-timing-equaliser")


async def hash_password(password: str) -> str:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise validation(
            f"Password must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters", "password"
        )
    return await run_in_hashing_pool(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    def verify() -> bool:
        try:
            return _hasher.verify(password_hash or _dummy_hash, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    return await run_in_hashing_pool(verify)


async def run_in_hashing_pool(work: Callable[..., T], *args: str) -> T:
    """`work(*args)` in a worker thread, or TOO_MANY_ATTEMPTS at once if too many wait."""
    global _waiting
    if _waiting >= MAX_WAITING_HASHES:
        raise DomainError(
            ErrorCode.TOO_MANY_ATTEMPTS, "Too many logins at once: try again in a second", "password", retry_after=1
        )
    _waiting += 1
    try:
        return await asyncio.to_thread(work, *args)
    finally:
        _waiting -= 1
