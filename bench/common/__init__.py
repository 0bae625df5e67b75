"""What the benchmarks share: paths, server and worker processes, the load-generator
clients, a raw HTTP client, PostgreSQL and Redis helpers, /proc readings and report helpers."""
