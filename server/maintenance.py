"""Background upkeep while the server runs: pruning the event log."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import timedelta

from subscriptions.log import prune

log = logging.getLogger(__name__)
PRUNE_INTERVAL_SECONDS = 3600


async def _prune_forever(retention: timedelta) -> None:
    while True:
        try:
            deleted = await prune(retention)
            if deleted:
                log.info("pruned %d events older than %s from the event log", deleted, retention)
        except Exception:
            log.warning("event log pruning failed", exc_info=True)
        await asyncio.sleep(PRUNE_INTERVAL_SECONDS)


@asynccontextmanager
async def event_log_pruning(retention_hours: float) -> AsyncIterator[None]:
    task = asyncio.create_task(_prune_forever(timedelta(hours=retention_hours)), name="event-log-pruning")
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
