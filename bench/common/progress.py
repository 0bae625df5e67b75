"""A carriage-return progress bar on stderr (no dependency): done/total, rate, ETA; and
the lines of timings printed beside it."""
from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 30
# Redrawing on every step would cost more than the work on small batches.
REDRAW_SECONDS = 0.2


class ProgressBar:
    def __init__(self, total: int, label: str, *, enabled: bool = True, stream: TextIO = sys.stderr):
        self.total = max(total, 1)
        self.label = label
        self.enabled = enabled
        self.stream = stream
        self.done = 0
        self.started = time.perf_counter()
        self._drawn_at = 0.0

    def advance(self, count: int) -> None:
        self.done += count
        now = time.perf_counter()
        if self.enabled and now - self._drawn_at >= REDRAW_SECONDS:
            self._draw(now)
            self._drawn_at = now

    def finish(self) -> None:
        if self.enabled:
            self._draw(time.perf_counter())
            self.stream.write("\n")
            self.stream.flush()

    def _draw(self, now: float) -> None:
        elapsed = now - self.started
        fraction = min(self.done / self.total, 1.0)
        filled = int(fraction * WIDTH)
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / rate if rate > 0 else 0.0
        self.stream.write(
            f"\r{self.label} [{'#' * filled}{'.' * (WIDTH - filled)}] {fraction:6.1%} "
            f"{self.done:,}/{self.total:,}  {rate:,.0f}/s  {elapsed:6.1f}s elapsed  eta {eta:5.0f}s "
        )
        self.stream.flush()


def say(enabled: bool, text: str) -> None:
    """A line on stderr next to the progress bar (nothing when quiet)."""
    if enabled:
        print(text, file=sys.stderr, flush=True)
