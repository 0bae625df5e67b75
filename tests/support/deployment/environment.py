"""How a deployment's processes are run: the `teaminbox` console script, an environment
of TEAMINBOX_* variables only, and whether this test run can start them at all."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.environment import REPO, on_postgres, on_redis


def teaminbox_bin() -> str:
    """The `teaminbox` console script of the running virtualenv."""
    candidate = Path(sys.executable).parent / "teaminbox"
    return str(candidate if candidate.exists() else REPO / ".venv" / "bin" / "teaminbox")


def skip_reason() -> str | None:
    """Why the multi-instance tests cannot run here, or None when they can."""
    where = "multi-instance tests run in the PostgreSQL + Redis pass: set"
    if not on_postgres():
        return f"{where} TEAMINBOX_TEST_DATABASE_URL=postgres://... and TEAMINBOX_TEST_BROADCAST_URL=redis://..."
    if not on_redis():
        return f"{where} TEAMINBOX_TEST_BROADCAST_URL=redis://..."
    if shutil.which("redis-server") is None:
        return "redis-server is not on PATH: the multi-instance tests start a private Redis of their own"
    return None


def instance_env(database_url: str, broadcast_url: str, **settings: object) -> dict[str, str]:
    """The process environment of an instance: only TEAMINBOX_* variables configure it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEAMINBOX_")}
    env["TEAMINBOX_DATABASE_URL"] = database_url
    env["TEAMINBOX_BROADCAST_URL"] = broadcast_url
    # As in the in-process tests (tests/conftest.py): replies are sent only where a test
    # asks (delivery_worker=1); elsewhere a reply failing for want of a provider would add
    # its delivery events to every stream a test counts.
    env["TEAMINBOX_DELIVERY_WORKER"] = "0"
    for name, value in settings.items():
        env[f"TEAMINBOX_{name.upper()}"] = str(value)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def run_cli(env: dict[str, str], *args: str, timeout: float = 60) -> str:
    """Run a `teaminbox` command the way an operator would; returns its stdout."""
    result = subprocess.run([teaminbox_bin(), *args], env=env, capture_output=True, text=True, timeout=timeout,
                            cwd=REPO)
    if result.returncode != 0:
        raise AssertionError(f"teaminbox {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result.stdout
