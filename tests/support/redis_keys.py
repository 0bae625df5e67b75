"""Removing a test's keys from a shared Redis: every key of a namespace (`<namespace>:*`,
the prefix the server gives its keys and channels)."""
from __future__ import annotations

import redis.asyncio as aioredis


async def delete_namespace(redis_url: str, namespace: str) -> int:
    """Delete every key under `namespace:`; returns how many there were."""
    client = aioredis.from_url(redis_url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{namespace}:*", count=1000)]
        if keys:
            await client.delete(*keys)
        return len(keys)
    finally:
        await client.aclose()
