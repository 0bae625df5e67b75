"""Real `teaminbox serve` processes for multi-instance and fault tests.

What an operator runs, nothing in-process: a fresh PostgreSQL database migrated with
`teaminbox migrate`, N `teaminbox serve --port P` subprocesses configured only by
environment variables, each awaited on `/readyz`, and always stopped, their database
dropped. Every wait is bounded; a hang becomes a failure that shows the instance's log.

`environment` (the `teaminbox` command, instance environments, when these tests can
run), `instances` (Instance, Deployment, deployment()), `teams` (accounts made with
`teaminbox create-account`), `store` (reading a deployment's database directly). They
speak GraphQL with tests.support.http, the webhook with tests.support.webhook, and
graphql-transport-ws with tests.support.graphql_ws; private Redis and PostgreSQL
servers are in tests.support.services.
"""
