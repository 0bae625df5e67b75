"""Test helpers, one job per module; import from the module itself.

- `documents`: the client documents of graphql/operations/ (`operation`)
- `http`: GraphQL over HTTP for any httpx client, in-process or a real port (`gql`, `data`, `error_codes`, `mutate`;
  `post_graphql` and `comparable_answer` for raw answers)
- `teams`: in-process accounts with logged-in members (`make_team`, `Team`, `Member`, `login`, `PASSWORD`)
- `webhook`: signed inbound deliveries (`post_inbound`, `inbound`, `inbound_message`, `post_webhook`)
- `graphql_path`: the compiled and the general POST /graphql, which the `client` fixture runs both
- `statements`: counting the SQL statements the app sends
- `orm`, `cursors`: reading rows and event cursors back
- `waiting`: bounded polling (`until`)
- `live`: a real server in the test's event loop and graphql-transport-ws clients (the `gql` package)
- `graphql_ws`: a graphql-transport-ws client on the `websockets` library, for any server
- `services`: private redis-server and PostgreSQL servers a test may stop and start
- `databases`, `redis_keys`: creating and dropping test databases; removing a test's Redis keys
- `environment`, `ports`: where the tests run; free loopback ports
- `deployment/`: real `teaminbox serve` processes (multi-instance and fault tests)
"""
