"""Real `teaminbox serve` processes for multi-instance and fault tests (and bench/soak.py).

What an operator runs, nothing in-process: a fresh PostgreSQL database per test migrated
with `teaminbox migrate`, N `teaminbox serve --port P` subprocesses configured only by
environment variables, each awaited on `/readyz`, and always stopped. Also private
`redis-server` and PostgreSQL servers that a test may stop and start again on the same
port (the shared ones are never touched), and a small graphql-transport-ws client (the
`websockets` library) that records what it receives and when.

Every wait is bounded; a hang becomes a failure that shows the instance's log.

The parts: `_common` (paths, environment, timeouts, port and process helpers),
`services` (RedisServer, PostgresServer), `processes` (databases, `teaminbox` commands,
Instance, deployment), `api` (GraphQL over HTTP, teams, the inbound webhook) and
`graphql_ws` (the graphql-transport-ws client). This package re-exports what the tests
and bench/soak.py import.
"""
from tests.instances._common import operation, skip_reason
from tests.instances.api import create_team, data, gql, post_inbound
from tests.instances.graphql_ws import GraphQLSocket, ws_client
from tests.instances.processes import (
    Instance,
    deployment,
    drop_database,
    fetch_all,
    instance_env,
    migrated_database,
    stored_events,
)
from tests.instances.services import PostgresServer, RedisServer

__all__ = [
    "GraphQLSocket", "Instance", "PostgresServer", "RedisServer", "create_team", "data", "deployment",
    "drop_database", "fetch_all", "gql", "instance_env", "migrated_database", "operation", "post_inbound",
    "skip_reason", "stored_events", "ws_client",
]
