"""Behaviour tested at the resolver level: resolvers/ called directly with a `Viewer`, without
GraphQL, on the real database and bus of the `app` fixture."""
