"""Garbage-collector settings for a long-running server.

Start-up leaves hundreds of thousands of long-lived objects (modules, the schema, ORM
metadata). Every full collection would walk them again; `gc.freeze()` moves them out of
the collector's view. A higher generation-0 threshold makes collections rarer, since a
realtime server allocates many short-lived objects per event and most die young."""
from __future__ import annotations

import gc

GEN0_THRESHOLD = 50_000


def tune_after_startup() -> None:
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GEN0_THRESHOLD, gen1, gen2)
