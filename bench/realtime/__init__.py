"""Realtime benchmarks (`python -m bench.realtime`): targeted and broadcast fan-out, typing
across two instances and idle subscriptions, next to a plain Starlette WebSocket server and
a bare Redis round trip. `measure` is the entry point."""
