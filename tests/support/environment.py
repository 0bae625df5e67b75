"""Where the tests run: the repository, and the PostgreSQL and Redis the environment
names (TEAMINBOX_TEST_DATABASE_URL, TEAMINBOX_TEST_BROADCAST_URL; SQLite and the
in-memory bus when unset)."""
from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TEST_DATABASE_URL = os.environ.get("TEAMINBOX_TEST_DATABASE_URL", "")
TEST_BROADCAST_URL = os.environ.get("TEAMINBOX_TEST_BROADCAST_URL", "memory://")


def on_postgres() -> bool:
    return TEST_DATABASE_URL.startswith("postgres")


def on_redis() -> bool:
    return TEST_BROADCAST_URL.startswith("redis")
