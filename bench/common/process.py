"""Processes: free ports, children that die with this process, `teaminbox` commands, and a
process's CPU time and memory read from /proc (Linux)."""
from __future__ import annotations

import asyncio
import ctypes
import math
import os
import signal
import socket
import sys
from pathlib import Path

from bench.common.paths import ROOT


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def die_with_parent() -> None:  # runs in the child before exec (Linux): no orphaned servers
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def teaminbox_command() -> list[str]:
    script = Path(sys.executable).with_name("teaminbox")
    return [str(script)] if script.exists() else [sys.executable, "-m", "server.cli"]


async def cli(env: dict[str, str], *args: str) -> bytes:
    """Run a `teaminbox` command (migrate, create-account) as an operator would; returns its stdout."""
    process = await asyncio.create_subprocess_exec(
        *teaminbox_command(), *args, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, preexec_fn=die_with_parent,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), 120)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise RuntimeError(f"teaminbox {args[0]} timed out") from None
    if process.returncode != 0:
        raise RuntimeError(f"teaminbox {args[0]} failed ({process.returncode}): {err.decode()[-2000:]}")
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process so far; NaN when /proc cannot tell (it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime (fields 14, 15)
    except (OSError, IndexError, ValueError):
        return math.nan


def memory_mb(pid: int) -> tuple[float, float]:
    """(RSS, PSS) of the process in MB (PSS from smaps_rollup; NaN where unreadable)."""
    def kb(path: str, key: str) -> float:
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(key):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return math.nan
    return kb(f"/proc/{pid}/status", "VmRSS:"), kb(f"/proc/{pid}/smaps_rollup", "Pss:")
