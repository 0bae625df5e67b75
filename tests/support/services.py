"""Private `redis-server` and PostgreSQL servers that a test may kill, stop, freeze and
start again on the same port (the shared ones are never touched)."""
from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.ports import free_port, port_open

STOP_TIMEOUT = 15.0  # SIGTERM, then SIGKILL after this


def stop_process(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> int:
    """Send `sig` and wait (SIGKILL past `timeout`); returns the exit code."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)
    return process.returncode


class RedisServer:
    """A throwaway redis-server on a free port that can be killed and started again there."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not on PATH")
        self._binary = binary
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen | None = None

    @staticmethod
    def unavailable_reason() -> str | None:
        if shutil.which("redis-server") is None:
            return "redis-server is not on PATH: cannot stop and restart a Redis of its own"
        return None

    def start(self, timeout: float = 10) -> None:
        process = self._process = subprocess.Popen(
            [self._binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while not port_open(self.port):
            if process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)

    def kill(self) -> None:
        """SIGKILL: every client connection drops at once, as in a crash."""
        if self._process is not None:
            stop_process(self._process, signal.SIGKILL)
        self._process = None

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.kill()


class PostgresServer:
    """A private PostgreSQL cluster (initdb in a temp dir, on a free port) that a test may
    stop and start again. Run as the `postgres` OS user when this process is root."""

    def __init__(self) -> None:
        found = self._find_bin()
        if found is None:
            raise RuntimeError(self.unavailable_reason())
        self._bin = found
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"
        self._dir = Path(tempfile.mkdtemp(prefix="teaminbox-pg-"))
        self._data = self._dir / "data"
        self._as_user: list[str] = []
        self._frozen: list[int] = []

    @staticmethod
    def unavailable_reason() -> str | None:
        if PostgresServer._find_bin() is None:
            return "no PostgreSQL server binaries (initdb, pg_ctl) to start a private cluster"
        if os.geteuid() == 0 and (shutil.which("runuser") is None or not _user_exists("postgres")):
            return "running as root without `runuser` and a `postgres` OS user: cannot start a private PostgreSQL"
        return None

    @staticmethod
    def _find_bin() -> Path | None:
        for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
            if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
                return candidate
        initdb = shutil.which("initdb")
        return Path(initdb).parent if initdb and shutil.which("pg_ctl") else None

    def _run(self, *args: str, timeout: float = 60) -> None:
        result = subprocess.run([*self._as_user, *args], capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed: {result.stderr[-2000:]}{self.log_tail()}")

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self._dir, "postgres", "postgres")
            self._as_user = ["runuser", "-u", "postgres", "--"]
        self._run(str(self._bin / "initdb"), "-D", str(self._data), "-A", "trust", "-U", "postgres", "--no-sync",
                  "-E", "UTF8")

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self._dir} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=60")
        self._run(str(self._bin / "pg_ctl"), "-D", str(self._data), "-l", str(self._dir / "log"), "-o", options,
                  "-w", "-t", "30", "start")

    def stop(self, mode: str = "fast") -> None:
        """`fast`: backends are terminated, clients see their connections close."""
        self._run(str(self._bin / "pg_ctl"), "-D", str(self._data), "-m", mode, "-w", "-t", "30", "stop")

    def _processes(self) -> list[int]:
        postmaster = int((self._data / "postmaster.pid").read_text().split()[0])
        children = subprocess.run(["pgrep", "-P", str(postmaster)], capture_output=True, text=True).stdout.split()
        return [postmaster, *map(int, children)]

    def freeze(self) -> None:
        """SIGSTOP the server and its backends: connections stay open, nothing answers
        (a hung host, or a network partition, as the clients see it)."""
        self._frozen = self._processes()
        for pid in self._frozen:
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        frozen, self._frozen = self._frozen, []
        for pid in frozen:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)

    def log_tail(self) -> str:
        log = self._dir / "log"
        return "\n" + log.read_text()[-2000:] if log.exists() else ""

    def remove(self) -> None:
        self.thaw()
        with contextlib.suppress(Exception):
            self.stop("immediate")
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        try:
            self.init()
            self.start()
        except BaseException:
            self.remove()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.remove()


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False
