"""Inbox HTTP benchmarks (`python -m bench.inbox`): teaminbox next to a raw Starlette +
asyncpg + orjson server and PostGraphile 5, driven by wrk. `measure` is the entry point."""
