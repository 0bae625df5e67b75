"""Fan-out latency to 1, 100 and 1,000 WebSocket clients (`python -m bench.fanout`), next to
a plain Starlette broadcast."""
