"""Argon2 password hashing, and the rules a new password must meet.

Hashing is deliberately slow (about a hundred milliseconds of CPU at the default cost),
so it runs in worker threads: a login must not stall every live subscription on the event
loop. Its own threads, one per core, not the default pool's several per core: hashing may
take every core, but then no more threads than cores contend with the event loop.

The queue for those threads is bounded, so a flood is refused at once (TOO_MANY_ATTEMPTS,
try again in a second) instead of making everyone wait behind it. Logins that do not
come from an address their member has used before (all of a guesser's, from wherever)
may fill only part of it: the rest stays for members at their usual address, and for
admins creating members."""
from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from resolvers.errors import DomainError, ErrorCode, validation

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256
HASHING_THREADS = os.cpu_count() or 2
# Hashes running or queued at once: a few rounds of the threads, about a second of
# waiting at the default cost. Tries from unknown addresses get a quarter of it.
MAX_WAITING_HASHES = 8 * HASHING_THREADS
MAX_WAITING_UNFAMILIAR = 2 * HASHING_THREADS

T = TypeVar("T")
_waiting = 0
_threads = ThreadPoolExecutor(max_workers=HASHING_THREADS, thread_name_prefix="password-hashing")

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


async def verify_password(password_hash: str | None, password: str, *, familiar: bool = True) -> bool:
    """`familiar`: the try comes from an address the member has logged in from (a full
    share of the hashing queue); False for every other login try."""

    def verify() -> bool:
        try:
            return _hasher.verify(password_hash or _dummy_hash, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    return await run_in_hashing_pool(verify, limit=MAX_WAITING_HASHES if familiar else MAX_WAITING_UNFAMILIAR)


async def run_in_hashing_pool(work: Callable[..., T], *args: str, limit: int = MAX_WAITING_HASHES) -> T:
    """`work(*args)` on a hashing thread, or TOO_MANY_ATTEMPTS at once if `limit` or more
    are already running or waiting."""
    global _waiting
    if _waiting >= limit:
        raise DomainError(
            ErrorCode.TOO_MANY_ATTEMPTS, "Too many logins at once: try again in a second", "password", retry_after=1
        )
    _waiting += 1
    try:
        return await asyncio.get_running_loop().run_in_executor(_threads, work, *args)
    finally:
        _waiting -= 1
