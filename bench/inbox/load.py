"""The HTTP load generator of bench.inbox: wrk (C, its own process), driven by a Lua script
written per run (bench/inbox/wrk.lua plus the requests it sends), parsed from one JSON line
that the script's `done()` prints.

Closed loop: `connections` requests in flight at all times, each connection sending the
next request when the previous answer arrives. A response counts as an error unless its
status is 200 and its body has no top-level GraphQL `"errors"` key, so a server failing
fast cannot pass for a fast server. `load_cpu` is wrk's own CPU time over the run (from
RUSAGE_CHILDREN), to show it is not the bottleneck; `server_cpu` is the server process's."""
from __future__ import annotations

import asyncio
import json
import math
import resource
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.common.process import cpu_seconds, die_with_parent

LUA_LIBRARY = Path(__file__).resolve().with_name("wrk.lua")


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    errors: int  # socket errors, timeouts, non-200, GraphQL errors
    failed: int  # of `requests`: answered, but not 200 or with GraphQL errors
    p50_ms: float
    p90_ms: float
    p99_ms: float
    load_cpu_s: float  # wrk's CPU time
    server_cpu_s: float | None  # the server process's CPU time (None: unknown pid)

    @property
    def rps(self) -> float:
        """Successful requests per second."""
        return (self.requests - self.failed) / self.seconds if self.seconds else 0.0


def wrk_path() -> str:
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("bench.inbox needs wrk (Debian/Ubuntu: apt-get install -y wrk)")
    return found


def _lua_value(value: object) -> str:
    """A Lua literal for str / int / list / dict (enough for request tables)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON string escapes are valid Lua escapes for ASCII and \uXXXX-free text
    if isinstance(value, (list, tuple)):
        return "{" + ", ".join(_lua_value(v) for v in value) + "}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"[{_lua_value(k)}] = {_lua_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def _lua_script(requests: list[dict]) -> str:
    """`requests`: {path, headers, body} dicts the threads cycle through (each thread starts
    at its own offset). Bodies and headers must be ASCII."""
    for request in requests:
        if not request["body"].isascii() or not all(str(v).isascii() for v in request["headers"].values()):
            raise ValueError("wrk requests must be ASCII")
    return (
        f"REQUESTS = {_lua_value(requests)}\n"
        + LUA_LIBRARY.read_text()
    )


def _cpu_seconds(pid: int | None) -> float | None:
    seconds = math.nan if pid is None else cpu_seconds(pid)
    return None if math.isnan(seconds) else seconds


async def run(url: str, requests: list[dict], *, connections: int, seconds: float, threads: int = 1,
              server_pid: int | None = None, timeout_s: float = 10) -> LoadResult:
    """Run wrk against `url` (scheme://host:port; each request has its own path)."""
    threads = max(1, min(threads, connections))
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        script = Path(tmp) / "script.lua"
        script.write_text(_lua_script(requests))
        argv = [wrk_path(), f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
                f"--timeout={timeout_s:g}s", "-s", str(script), url]
        before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
        server_before = _cpu_seconds(server_pid)
        process = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, preexec_fn=die_with_parent,
        )
        try:
            out, err = await asyncio.wait_for(process.communicate(), seconds + timeout_s + 30)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise RuntimeError(f"wrk did not finish: {' '.join(argv)}") from None
        server_after = _cpu_seconds(server_pid)
        after_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    text = out.decode(errors="replace")
    line = next((line for line in text.splitlines() if line.startswith("WRKJSON ")), None)
    if process.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({process.returncode}): {text[-2000:]} {err.decode(errors='replace')[-2000:]}")
    data = json.loads(line[len("WRKJSON "):])
    load_cpu = ((after_children.ru_utime + after_children.ru_stime)
                - (before_children.ru_utime + before_children.ru_stime))
    return LoadResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        errors=data["bad"] + data["connect"] + data["read"] + data["write"] + data["timeout"],
        failed=data["bad"],
        p50_ms=data["p50"] / 1000, p90_ms=data["p90"] / 1000, p99_ms=data["p99"] / 1000,
        load_cpu_s=load_cpu,
        server_cpu_s=None if server_before is None or server_after is None else server_after - server_before,
    )
