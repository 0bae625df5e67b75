"""Limits the API enforces on what clients ask for (all configurable by the server)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from resolvers.errors import validation


@dataclass(frozen=True)
class Limits:
    max_page_size: int = 100
    default_page_size: int = 50
    session_ttl: timedelta = timedelta(days=30)
    # Where providers reach this deployment: the base of the callback URLs channels show.
    public_url: str = "http://127.0.0.1:8000"

    def page_size(self, first: int | None, field: str = "first") -> int:
        if first is None:
            return self.default_page_size if self.default_page_size <= self.max_page_size else self.max_page_size
        if not 1 <= first <= self.max_page_size:
            raise validation(f"{field} must be between 1 and {self.max_page_size}", field)
        return first
