"""What the other modules of tests.instances share: paths, the test environment's URLs,
timeouts, and small port and process helpers."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
OPERATIONS_DIR = REPO / "graphql" / "operations"
TEST_DATABASE_URL = os.environ.get("TEAMINBOX_TEST_DATABASE_URL", "")
TEST_BROADCAST_URL = os.environ.get("TEAMINBOX_TEST_BROADCAST_URL", "")
PASSWORD = "correct-horse-battery"
START_TIMEOUT = 30.0  # an instance must answer /readyz 200 within this
STOP_TIMEOUT = 15.0  # SIGTERM, then SIGKILL after this



def teaminbox_bin() -> str:
    """The `teaminbox` console script of the running virtualenv."""
    candidate = Path(sys.executable).parent / "teaminbox"
    return str(candidate if candidate.exists() else REPO / ".venv" / "bin" / "teaminbox")


def skip_reason() -> str | None:
    """Why the multi-instance tests cannot run here, or None when they can."""
    if not TEST_DATABASE_URL.startswith("postgres"):
        return ("multi-instance tests run in the PostgreSQL + Redis pass: set TEAMINBOX_TEST_DATABASE_URL=postgres://... "
                "and TEAMINBOX_TEST_BROADCAST_URL=redis://...")
    if not TEST_BROADCAST_URL.startswith("redis"):
        return "multi-instance tests run in the PostgreSQL + Redis pass: set TEAMINBOX_TEST_BROADCAST_URL=redis://..."
    if shutil.which("redis-server") is None:
        return "redis-server is not on PATH: the multi-instance tests start a private Redis of their own"
    return None


def operation(name: str) -> str:
    return (OPERATIONS_DIR / f"{name}.graphql").read_text()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _stop_process(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> int:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)
    return process.returncode
