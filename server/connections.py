"""Open WebSocket connections per member in this process: when a member's last one
closes, their typing indicators stop at once instead of waiting for the TTL."""
from __future__ import annotations

from collections import Counter

from resolvers.viewer import Viewer
from subscriptions.typing_service import clear_member


class ConnectionTracker:
    def __init__(self) -> None:
        self._open: Counter[int] = Counter()

    def opened(self, viewer: Viewer) -> None:
        self._open[viewer.user_id] += 1

    async def closed(self, viewer: Viewer) -> None:
        self._open[viewer.user_id] -= 1
        if self._open[viewer.user_id] <= 0:
            del self._open[viewer.user_id]
            await clear_member(viewer.account_id, viewer.user_id)

    def count(self, user_id: int) -> int:
        return self._open.get(user_id, 0)
