"""Login throttling: wrong passwords cost the guesser time, not the team.

Failures are counted per email and per client address. A key's first few failures are
free; after them each further try must wait longer (1 s, 2 s, 4 s, ... up to
MAX_DELAY) after the key's last failure, and a try that comes too early is refused at
once, without hashing, with the seconds left. A key forgets its failures WINDOW after
the last one, so no lockout outlasts the window once the guessing stops; MAX_DELAY is
well inside it.

The email's count is not applied to a try from an address the member has logged in from
before (KnownAddress): someone guessing from elsewhere cannot lock the member out of
their usual place. The address's count still applies there.

Every try is counted before its password is hashed (and given back when it succeeds), so
a burst of simultaneous guesses is counted as it arrives rather than after every hash
has finished. The counts live in one AttemptStore per deployment: Redis when the bus is
Redis (server/login_attempts.py, shared by every instance), this process's memory
otherwise."""
from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from resolvers.errors import DomainError, ErrorCode

FREE_FAILURES_PER_EMAIL = 5
# An office behind one address shares it: more room before its logins slow down.
FREE_FAILURES_PER_ADDRESS = 20
FIRST_DELAY_SECONDS = 1.0
MAX_DELAY_SECONDS = 300.0
WINDOW_SECONDS = 900.0


@dataclass(frozen=True)
class Counter:
    """One key's count and how many failures it forgives before delays begin."""

    key: str
    free_failures: int


def delay_after(failures: int, free_failures: int) -> float:
    """How long after its last failure a key with `failures` may try again."""
    if failures < free_failures:
        return 0.0
    return min(FIRST_DELAY_SECONDS * 2.0 ** min(failures - free_failures, 32), MAX_DELAY_SECONDS)


class AttemptStore(Protocol):
    async def begin(self, counters: Sequence[Counter], now: float) -> float:
        """0 and every counter counts one more failure (at `now`), or the seconds this try
        must still wait (nothing counted). Atomic across every instance sharing the store."""

    async def give_back(self, keys: Sequence[str]) -> None:
        """The try was not a failure (or never happened): take one back from each key."""

    async def close(self) -> None: ...


class MemoryAttemptStore:
    """One process's counts (the memory:// deployment). Old keys are dropped as the
    store grows, so a flood of made-up emails cannot grow it without bound."""

    MAX_KEYS = 100_000

    def __init__(self) -> None:
        # key -> (failures, the last failure's time, the one before it)
        self._counts: dict[str, tuple[int, float, float]] = {}

    def _current(self, key: str, now: float) -> tuple[int, float, float]:
        failures, last, previous = self._counts.get(key, (0, 0.0, 0.0))
        return (failures, last, previous) if now - last < WINDOW_SECONDS else (0, 0.0, 0.0)

    async def begin(self, counters: Sequence[Counter], now: float) -> float:
        wait = 0.0
        for counter in counters:
            failures, last, _ = self._current(counter.key, now)
            wait = max(wait, last + delay_after(failures, counter.free_failures) - now)
        if wait > 0:
            return wait
        if len(self._counts) >= self.MAX_KEYS:
            self._prune(now)
        for counter in counters:
            failures, last, _ = self._current(counter.key, now)
            self._counts[counter.key] = (failures + 1, now, last)
        return 0.0

    async def give_back(self, keys: Sequence[str]) -> None:
        for key in keys:
            failures, _, previous = self._counts.get(key, (0, 0.0, 0.0))
            if failures <= 1:
                self._counts.pop(key, None)
            else:  # the last failure is again the one before this try
                self._counts[key] = (failures - 1, previous, previous)

    async def close(self) -> None:
        self._counts.clear()

    def _prune(self, now: float) -> None:
        for key, (_, last, _) in list(self._counts.items()):
            if now - last >= WINDOW_SECONDS:
                del self._counts[key]
        # Still full of live keys: drop the oldest half (dicts keep insertion order).
        if len(self._counts) >= self.MAX_KEYS:
            for key in list(self._counts)[: self.MAX_KEYS // 2]:
                del self._counts[key]


_store: AttemptStore = MemoryAttemptStore()


def install(store: AttemptStore) -> None:
    """The deployment's store, set by the app at start-up."""
    global _store
    _store = store


def email_key(normalised_email: str) -> str:
    # Hashed: the store (Redis) holds no email addresses.
    return "email:" + hashlib.sha256(normalised_email.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def address_key(address: str) -> str:
    return "address:" + address


@dataclass(frozen=True)
class LoginAttempt:
    """A counted try: `succeeded()` when the password was right, `abandoned()` when it was
    never checked (refused before hashing); a wrong password leaves it counted."""

    counted: tuple[str, ...]

    async def succeeded(self) -> None:
        # Only this try is taken back: the email's earlier failures stand until they age
        # out, so the member's own login does not hand a guesser a fresh set of free tries.
        await _store.give_back(self.counted)

    async def abandoned(self) -> None:
        await _store.give_back(self.counted)


async def begin_attempt(normalised_email: str, address: str | None, *, known_address: bool) -> LoginAttempt:
    """Count a login try, or refuse it at once with TOO_MANY_ATTEMPTS and the seconds to wait."""
    counters = []
    if address is not None:
        counters.append(Counter(address_key(address), FREE_FAILURES_PER_ADDRESS))
    email = email_key(normalised_email)
    if not known_address:
        counters.append(Counter(email, FREE_FAILURES_PER_EMAIL))
    wait = await _store.begin(counters, time.time())
    if wait > 0:
        seconds = math.ceil(wait)
        raise DomainError(
            ErrorCode.TOO_MANY_ATTEMPTS, f"Too many failed logins: try again in {seconds} s", "password",
            retry_after=seconds,
        )
    return LoginAttempt(counted=tuple(counter.key for counter in counters))
