"""Helpers every report uses: nearest-rank percentiles and the machine's CPU model."""
from __future__ import annotations

import math
import platform
from pathlib import Path


def percentile(values: list[int], q: float) -> float:
    """Nearest-rank percentile, in milliseconds (values are ns)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] / 1e6


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"
