"""The Node GraphQL clients of tests/clients/ (graphql-ws, @apollo/client, @urql/core),
installed from the npm registry by the tests themselves, exactly as package-lock.json
pins them, into a cache folder outside the repository: one install per lock version,
shared by every pytest process (a file lock keeps two of them from racing).

Node resolves bare imports by walking up from the importing script's folder (NODE_PATH
does not apply to ES modules), so the scenario scripts are copied beside the installed
node_modules, into a folder named by their content, and run from there."""
from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.environment import REPO

CLIENTS_DIR = REPO / "tests" / "clients"
CACHE_ROOT = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "teaminbox" / "node-clients"
INSTALL_TIMEOUT = 300.0  # seconds; a registry that does not answer becomes a skip, not a hang


class NodeClientsUnavailable(Exception):
    """Node or npm is absent: the reason to skip."""


class NodeClientsBroken(Exception):
    """Node and npm are there but the pinned clients did not install (a broken lock, the
    registry unreachable): a failure, not a skip, so that CI cannot pass without them."""


@dataclass(frozen=True)
class NodeClients:
    node: str
    scripts: Path  # the copied tests/clients/*.mjs, beside node_modules

    def script(self, name: str) -> Path:
        return self.scripts / name


def _digest(*paths: Path) -> str:
    sha = hashlib.sha256()
    for path in paths:
        sha.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return sha.hexdigest()[:16]


def _install(folder: Path, npm: str) -> None:
    """`npm ci` from the lock into `folder` (already holding package.json and the lock)."""
    try:
        result = subprocess.run(
            [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=folder, capture_output=True, text=True, timeout=INSTALL_TIMEOUT,
        )
    except subprocess.TimeoutExpired as timeout:
        raise NodeClientsBroken(f"npm ci did not finish within {INSTALL_TIMEOUT:.0f}s "
                                "(is the npm registry reachable?)") from timeout
    if result.returncode != 0:
        first_lines = " / ".join(result.stderr.strip().splitlines()[:3])  # npm says what went wrong first
        raise NodeClientsBroken(f"npm ci failed ({result.returncode}): {first_lines}")


def node_clients() -> NodeClients:
    """The installed clients (installing them on first use); NodeClientsUnavailable without
    node or npm, NodeClientsBroken if they do not install."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise NodeClientsUnavailable("node and npm are needed for the stock Node client tests "
                                     "(apt-get install nodejs npm)")
    lock, manifest = CLIENTS_DIR / "package-lock.json", CLIENTS_DIR / "package.json"
    folder = CACHE_ROOT / _digest(manifest, lock)
    folder.mkdir(parents=True, exist_ok=True)
    scripts = sorted(CLIENTS_DIR.glob("*.mjs"))
    with open(folder / ".lock", "w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)  # released when the file closes
        if not (folder / ".installed").exists():
            shutil.copyfile(manifest, folder / "package.json")
            shutil.copyfile(lock, folder / "package-lock.json")
            _install(folder, npm)
            (folder / ".installed").touch()
        copies = folder / "scripts" / _digest(*scripts)
        if not copies.exists():
            staging = folder / "scripts" / f".staging-{os.getpid()}"
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
            for script in scripts:
                shutil.copyfile(script, staging / script.name)
            staging.rename(copies)
    return NodeClients(node=node, scripts=copies)


def node_clients_or_skip() -> NodeClients:
    """node_clients(), the test skipped (with its reason) when node or npm is absent."""
    try:
        return node_clients()
    except NodeClientsUnavailable as reason:
        pytest.skip(f"stock Node clients unavailable: {reason}")
