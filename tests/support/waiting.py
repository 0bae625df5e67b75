"""Bounded polling, for state that announces no change of its own (server bookkeeping,
another task's progress). Where something can be awaited, await it instead."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def until(condition: Callable[[], bool], what: str = "the condition", *, timeout: float = 5.0,
                interval: float = 0.01) -> None:
    """Return once `condition()` holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)
