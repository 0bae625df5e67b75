"""Facts of the graphql-transport-ws protocol as we speak it, shared by the subscription
fields (schema/) and the WebSocket endpoint (server/), which both close sockets."""
from __future__ import annotations

# The protocol's "Forbidden": a bad token at `connection_init`, or access that ended
# (logout, deactivation) while the socket was open. Clients must log in again.
FORBIDDEN_CLOSE_CODE = 4403
