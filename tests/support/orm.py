"""Reading rows back in tests (Tortoise)."""
from __future__ import annotations

from typing import Any, cast

from tortoise.queryset import QuerySet


async def column(query: QuerySet[Any], field: str) -> list[Any]:
    """`query.values_list(field, flat=True)`: the values of one column. (Tortoise types
    every values_list as tuples, flat=True included, so the cast says what it returns.)"""
    return cast(list[Any], await query.values_list(field, flat=True))
