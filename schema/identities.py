"""The ids of objects that have no row of their own, so that a normalized client cache
(Apollo's InMemoryCache, urql's Graphcache: `__typename` + `id`) keeps one entry for each.

Rows keep the id the project hands out everywhere: the row's primary key in decimal.
The rest are named after what they are computed for:

- `Viewer`: the logged-in member, so the member's id. Stable across logins and tokens;
  a cache key is `Viewer:<id>`, never confused with `User:<id>`.
- `InboxCounts`: the tabs one member sees under one status (`mine` is theirs), so
  `<member id>:<STATUS>`. The query and every `InboxCountsChanged` for that member and
  status carry the same id, which is what lets a pushed update reach the cached counts.

Clients treat every id as opaque; none of these is accepted as an argument."""
from __future__ import annotations

from models import ConversationStatus


def viewer_id(user_id: int) -> str:
    return str(user_id)


def inbox_counts_id(user_id: int, status: ConversationStatus) -> str:
    return f"{user_id}:{status.value}"
