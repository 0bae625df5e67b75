"""What every resolver receives: the viewer, this answer's loaders, the settings.

Over HTTP a context lives for one request. Over a WebSocket it lives as long as the
socket, so subscription payloads carry their own loaders (see subscriptions) rather
than caching rows here across events."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import strawberry

from resolvers.viewer import Viewer
from schema.limits import Limits
from schema.loaders import Loaders


@dataclass
class Context:
    request: Any
    response: Any
    limits: Limits
    viewer: Viewer | None = None
    loaders: Loaders = field(default_factory=Loaders)
    # The graphql-transport-ws `connection_init` payload (WebSockets only).
    connection_params: dict[str, Any] | None = None
    # The client's address (server/client_address.py), None when it cannot be told.
    client_address: str | None = None


Info = strawberry.Info[Context, None]
