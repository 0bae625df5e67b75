"""Login floods against a real `teaminbox serve` with production password hashing (issue 11
finding 2): how long a colleague's correct login takes on a quiet server, during one
client's wrong-password flood on the admin's email, and during a flood of made-up emails
from many addresses; what the floods get hashed and what is refused; whether the admin
still gets in.

    .venv/bin/python -m bench.login_flood

The server runs on a SQLite temp file and memory:// with TEAMINBOX_TRUSTED_PROXIES=127.0.0.1
so that every simulated client can say where it is in X-Forwarded-For. Prints the tables
and writes them, with the machine and the command, to bench/LOGIN.md. About 90 s."""
from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.common.api import create_team
from bench.common.paths import BENCH
from bench.common.servers import Server, start_instance, teaminbox_env
from bench.login_flood.phases import People, distributed_flood, quiet, single_client_flood, warm_up
from bench.login_flood.report import Run, document, tables


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.login_flood", description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=30, help="the colleague's tries per phase (default 30)")
    parser.add_argument("--single", type=int, default=200, help="the single client's wrong passwords (default 200)")
    parser.add_argument("--single-concurrency", type=int, default=20)
    parser.add_argument("--distributed", type=int, default=1000,
                        help="wrong passwords from many addresses (default 1000)")
    parser.add_argument("--distributed-concurrency", type=int, default=100)
    parser.add_argument("--agents", type=int, default=3, help="agents in the account besides the admin")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds for the whole run")
    parser.add_argument("--output", type=Path, default=BENCH / "LOGIN.md")
    args = parser.parse_args(argv)
    if min(args.logins, args.single, args.single_concurrency, args.distributed, args.distributed_concurrency,
           args.agents) < 1:
        parser.error("counts must be positive")
    return args


def server_env(workdir: Path) -> dict[str, str]:
    env = teaminbox_env(f"sqlite://{workdir / 'bench.db'}")
    env["TEAMINBOX_TRUSTED_PROXIES"] = "127.0.0.1"
    # Production hashing: whatever cheap cost the calling shell carries (the tests' settings) goes.
    for name in [name for name in env if name.startswith("TEAMINBOX_PASSWORD_HASH_")]:
        del env[name]
    return env


def _step(label: str) -> None:
    print(f"  {label}", file=sys.stderr, flush=True)


async def measure(server: Server, people: People, args: argparse.Namespace) -> Run:
    """Quiet phases before, between and after the floods, so the baseline spans the run."""
    url = server.http_url
    await warm_up(url, people)
    run = Run(quiet=[], floods=[])
    _step("quiet, before the floods")
    run.quiet.append(("before the floods", await quiet(url, people, args.logins)))
    _step(f"single-client flood ({args.single} tries at concurrency {args.single_concurrency})")
    run.floods.append(await single_client_flood(url, people, args.single, args.single_concurrency, args.logins))
    _step("quiet, between the floods")
    run.quiet.append(("between the floods", await quiet(url, people, args.logins)))
    _step(f"distributed flood ({args.distributed} tries at concurrency {args.distributed_concurrency})")
    run.floods.append(await distributed_flood(url, people, args.distributed, args.distributed_concurrency,
                                              args.logins))
    _step("quiet, after the floods")
    run.quiet.append(("after the floods", await quiet(url, people, args.logins)))
    return run


async def main_async(args: argparse.Namespace) -> tuple[str, str]:
    load_start = os.getloadavg()[0]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="teaminbox-login-") as workdir:
        env = server_env(Path(workdir))
        server = await start_instance("teaminbox", env, Path(workdir))
        try:
            async with httpx.AsyncClient(base_url=server.http_url, timeout=60) as client:
                team = await create_team(env, client, args.agents)
            people = People(f"admin-{team.tag}@bench.test", f"agent0-{team.tag}@bench.test", team.tag)
            run = await measure(server, people, args)
        except BaseException:
            print(f"--- teaminbox log (tail) ---\n{server.log_tail()}", file=sys.stderr)
            raise
        finally:
            await server.stop()
    command = " ".join([".venv/bin/python -m bench.login_flood", *map(shlex.quote, sys.argv[1:])])
    setup = (f"one `teaminbox serve` (SQLite temp file, memory:// bus, argon2 at the production defaults, "
             f"TEAMINBOX_TRUSTED_PROXIES=127.0.0.1); one account from `teaminbox create-account` with "
             f"{args.agents} agents (createUser); httpx clients on 127.0.0.1, each simulated client's address in "
             f"X-Forwarded-For; the colleague makes {args.logins} tries per phase")
    load = f"{load_start:.2f} / {os.getloadavg()[0]:.2f}"
    return tables(run), document(run, command, setup, load, time.monotonic() - started)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    summary, text = asyncio.run(asyncio.wait_for(main_async(args), args.timeout))
    args.output.write_text(text)
    print(summary)
    print(f"\nwritten to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
